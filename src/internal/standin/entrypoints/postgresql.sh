#!/bin/bash
# Entrypoint of the docker-broker postgresql stand-in image (PostgreSQL 15 from Debian).
#
# Upstream contract (postgres:15, postgres:17, postgres:18, postgis/postgis:17-3.5):
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default: the user),
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), POSTGRES_INITDB_ARGS, PGDATA (default
#   /var/lib/postgresql/data as up to postgres:17: one image serves every tag, so postgres:18's
#   /var/lib/postgresql/18/docker applies only when PGDATA says so, as services files do);
#   POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and POSTGRES_INITDB_ARGS also as *_FILE, the
#   path of a file holding the value (read at start, as root, before the server drops
#   privileges; setting both VAR and VAR_FILE is an error); arguments starting with '-' are
#   options of postgres; on the first start, the image's /docker-entrypoint-initdb.d/*.sql run
#   (in name order) as the user in its database (the stand-in takes *.sql only: the images'
#   own scripts, e.g. postgis/postgis's CREATE EXTENSION, are SQL here).
# Legacy contract (frodenas/postgresql:9.6): POSTGRES_USERNAME, POSTGRES_PASSWORD,
#   POSTGRES_DBNAME, data in /data.
#
# Data directory: $PGDATA if set, else /data if that directory exists (a volume is mounted
# there; the image has none), else /var/lib/postgresql/data. The cluster is initialised on the
# first start only (the user is its superuser, the database is created); an existing cluster is
# used as it is, credentials untouched. TCP clients from anywhere log in with a password
# (scram-sha-256). The server listens on all interfaces, runs as user postgres and replaces
# this script (exec), so `docker stop` reaches it directly (STOPSIGNAL SIGINT: fast shutdown).
set -euo pipefail

PGBIN=/usr/lib/postgresql/15/bin

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ] && [ "$1" != "$PGBIN/postgres" ]; then
	exec "$@"
fi
shift

log() { echo "docker-entrypoint: $*" >&2; }

# file_env VAR: VAR's value from the file that VAR_FILE names, as the official image does.
# Read here, as root: the broker's secret files are 0600 and owned by root. Not exported: the
# server has no use for the secret in its environment.
file_env() {
	local var=$1 file_var="$1_FILE" value
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		log "both $var and $file_var are set (but are exclusive)"
		exit 1
	fi
	if [ -n "${!file_var:-}" ]; then
		value=$(<"${!file_var}")
		printf -v "$var" '%s' "$value"
	fi
	unset "$file_var"
}
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER
file_env POSTGRES_DB
file_env POSTGRES_INITDB_ARGS

if [ -z "${PGDATA:-}" ]; then
	if [ -d /data ]; then
		PGDATA=/data
	else
		PGDATA=/var/lib/postgresql/data
	fi
fi
export PGDATA

user=${POSTGRES_USER:-${POSTGRES_USERNAME:-postgres}}
db=${POSTGRES_DB:-${POSTGRES_DBNAME:-$user}}
password=${POSTGRES_PASSWORD:-}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

root=false
if [ "$(id -u)" = 0 ]; then
	root=true
fi
# as_postgres runs a command as user postgres (or as whoever we are if not root).
as_postgres() {
	if $root; then
		setpriv --reuid=postgres --regid=postgres --init-groups "$@"
	else
		"$@"
	fi
}

mkdir -p "$PGDATA" /run/postgresql
if $root; then
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	chown postgres:postgres /run/postgresql
fi
chmod 700 "$PGDATA"
chmod 2775 /run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$password" ] && [ "$auth" != trust ]; then
		log "the database is uninitialised and no password is set:"
		log "set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust, which lets anyone in)"
		exit 1
	fi
	log "initialising a cluster in $PGDATA for user $user, database $db"
	pwfile=$(mktemp)
	printf '%s\n' "$password" >"$pwfile"
	if $root; then
		chown postgres:postgres "$pwfile"
	fi
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several words on purpose
	as_postgres "$PGBIN/initdb" --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" \
		--auth-local=trust --auth-host="$auth" --encoding=UTF8 --locale=C.UTF-8 \
		${POSTGRES_INITDB_ARGS:-} >&2
	rm -f "$pwfile"
	{
		echo
		echo "# docker-broker stand-in: clients from anywhere"
		echo "host all all all $auth"
	} >>"$PGDATA/pg_hba.conf"
	{
		echo
		echo "# docker-broker stand-in"
		echo "listen_addresses = '*'"
	} >>"$PGDATA/postgresql.conf"

	shopt -s nullglob
	scripts=(/docker-entrypoint-initdb.d/*.sql)
	if [ "$db" != postgres ] || [ ${#scripts[@]} -gt 0 ]; then
		# A temporary server on the Unix socket only (clients and health checks over TCP
		# find nothing until the cluster is ready), to create the database and run the
		# image's init scripts in it.
		as_postgres "$PGBIN/pg_ctl" --pgdata="$PGDATA" --wait --silent \
			-o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" start >&2
		psql=(as_postgres "$PGBIN/psql" --no-psqlrc --quiet -v ON_ERROR_STOP=1
			--host=/run/postgresql --username="$user")
		if [ "$db" != postgres ]; then
			ident=${db//\"/\"\"}
			"${psql[@]}" --dbname=postgres --command="CREATE DATABASE \"$ident\"" >&2
		fi
		for f in "${scripts[@]}"; do
			log "running $f"
			"${psql[@]}" --dbname="$db" --file="$f" >&2
		done
		as_postgres "$PGBIN/pg_ctl" --pgdata="$PGDATA" --wait --silent --mode=fast stop >&2
	fi
	log "cluster initialised"
else
	log "using the existing cluster in $PGDATA"
fi

if $root; then
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$PGBIN/postgres" \
		-c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
fi
exec "$PGBIN/postgres" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql "$@"
