#!/bin/bash
# Entrypoint of the docker-broker mariadb stand-in image (MariaDB 10.11 from Debian).
#
# Upstream contract (mariadb:10.11, mysql:8.4): MYSQL_ROOT_PASSWORD,
#   MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD, MYSQL_ROOT_HOST (default %),
#   MYSQL_USER, MYSQL_PASSWORD, MYSQL_DATABASE, each also as MARIADB_* (which wins);
#   ROOT_PASSWORD, PASSWORD, USER, DATABASE and ROOT_HOST of both also as *_FILE, the path of
#   a file holding the value (read at start, as root, before the server drops privileges;
#   setting both VAR and VAR_FILE is an error); the user gets all privileges on its database
#   only; arguments starting with '-' are options of mariadbd.
# Legacy contract (frodenas/mysql:5.6): MYSQL_USERNAME, MYSQL_PASSWORD, MYSQL_DBNAME, data in
#   /data; as in that image's first_run.sh, the user gets ALL PRIVILEGES ON *.* WITH GRANT
#   OPTION (it administers the server: it creates the users of bindings).
#
# Data directory: /data if that directory exists (a volume is mounted there; the image has
# none), else /var/lib/mysql. Initialised on the first start only (mariadb-install-db, then a
# temporary server without networking creates the users and the database); an existing one is
# used as it is, credentials untouched. Without a root password option, root logs in only
# through the Unix socket inside the container. The server listens on all interfaces, runs as
# user mysql and replaces this script (exec), so `docker stop` reaches it directly.
set -euo pipefail

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- mariadbd "$@"
fi
case "$1" in
mariadbd | mysqld | /usr/sbin/mariadbd | /usr/sbin/mysqld) shift ;;
*) exec "$@" ;;
esac

log() { echo "docker-entrypoint: $*" >&2; }

# file_env VAR: VAR's value from the file that VAR_FILE names, as the official images do.
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
for name in ROOT_PASSWORD PASSWORD USER DATABASE ROOT_HOST; do
	file_env "MYSQL_$name"
	file_env "MARIADB_$name"
done

# setting NAME: $MARIADB_NAME, else $MYSQL_NAME, else "".
setting() {
	local m="MARIADB_$1" y="MYSQL_$1"
	if [ -n "${!m:-}" ]; then
		printf '%s' "${!m}"
	else
		printf '%s' "${!y:-}"
	fi
}

if [ -d /data ]; then
	datadir=/data
else
	datadir=/var/lib/mysql
fi
socket=/run/mysqld/mysqld.sock

root_password=$(setting ROOT_PASSWORD)
allow_empty=$(setting ALLOW_EMPTY_ROOT_PASSWORD)
[ -n "$allow_empty" ] || allow_empty=${MYSQL_ALLOW_EMPTY_PASSWORD:-}
random_root=$(setting RANDOM_ROOT_PASSWORD)
root_host=$(setting ROOT_HOST)
root_host=${root_host:-%}
user=$(setting USER)
legacy=false # the frodenas/mysql:5.6 contract: its user administers the server
if [ -z "$user" ] && [ -n "${MYSQL_USERNAME:-}" ]; then
	user=$MYSQL_USERNAME
	legacy=true
fi
password=$(setting PASSWORD)
database=$(setting DATABASE)
[ -n "$database" ] || database=${MYSQL_DBNAME:-}

root=false
if [ "$(id -u)" = 0 ]; then
	root=true
fi
as_mysql() {
	if $root; then
		setpriv --reuid=mysql --regid=mysql --init-groups "$@"
	else
		"$@"
	fi
}

mkdir -p "$datadir" /run/mysqld
if $root; then
	find "$datadir" \! -user mysql -exec chown mysql:mysql '{}' +
	chown mysql:mysql /run/mysqld
fi

# SQL string and identifier literals.
str() {
	local s=${1//\\/\\\\}
	s=${s//\'/\\\'}
	printf "'%s'" "$s"
}
# shellcheck disable=SC2016 # the backquotes are MySQL's identifier quotes, not a shell's
ident() { printf '`%s`' "${1//\`/\`\`}"; }

if [ ! -d "$datadir/mysql" ]; then
	if [ -n "$user" ] && [ -z "$password" ]; then
		log "MYSQL_PASSWORD is required with MYSQL_USER/MYSQL_USERNAME"
		exit 1
	fi
	if [ -n "$random_root" ]; then
		root_password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
		log "GENERATED ROOT PASSWORD: $root_password"
	fi
	log "initialising $datadir"
	as_mysql mariadb-install-db --datadir="$datadir" --skip-test-db --skip-name-resolve \
		--auth-root-authentication-method=socket >&2

	log "starting a temporary server without networking"
	as_mysql mariadbd --datadir="$datadir" --skip-networking --socket="$socket" \
		--skip-name-resolve &
	pid=$!
	for i in $(seq 1 60); do
		if mariadb-admin --socket="$socket" --user=root ping >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			log "the temporary server died"
			exit 1
		fi
		if [ "$i" = 60 ]; then
			log "the temporary server did not start within 60 s"
			exit 1
		fi
		sleep 1
	done

	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		# No anonymous users, no remote root unless asked for.
		echo "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));"
		echo "DELETE FROM mysql.proxies_priv WHERE NOT (User='root' AND Host='localhost');"
		echo "FLUSH PRIVILEGES;"
		if [ -n "$root_password" ]; then
			echo "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($(str "$root_password"));"
			if [ "$root_host" != localhost ]; then
				echo "CREATE USER 'root'@$(str "$root_host") IDENTIFIED BY $(str "$root_password");"
				echo "GRANT ALL ON *.* TO 'root'@$(str "$root_host") WITH GRANT OPTION;"
			fi
		elif [ -n "$allow_empty" ] && [ "$root_host" != localhost ]; then
			echo "CREATE USER 'root'@$(str "$root_host");"
			echo "GRANT ALL ON *.* TO 'root'@$(str "$root_host") WITH GRANT OPTION;"
		fi
		if [ -n "$database" ]; then
			echo "CREATE DATABASE IF NOT EXISTS $(ident "$database");"
		fi
		if [ -n "$user" ]; then
			echo "CREATE USER $(str "$user")@'%' IDENTIFIED BY $(str "$password");"
			if $legacy; then
				echo "GRANT ALL PRIVILEGES ON *.* TO $(str "$user")@'%' WITH GRANT OPTION;"
			elif [ -n "$database" ]; then
				echo "GRANT ALL ON $(ident "$database").* TO $(str "$user")@'%';"
			fi
		fi
	} | mariadb --socket="$socket" --user=root --protocol=socket --batch

	log "stopping the temporary server"
	mariadb-admin --socket="$socket" --user=root shutdown
	wait "$pid"
	log "initialised"
else
	log "using the existing data in $datadir"
fi

set -- --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 --socket="$socket" \
	--skip-name-resolve "$@"
if $root; then
	exec setpriv --reuid=mysql --regid=mysql --init-groups mariadbd "$@"
fi
exec mariadbd "$@"
