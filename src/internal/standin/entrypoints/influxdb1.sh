#!/bin/sh
# Entrypoint of the docker-broker influxdb1 stand-in image (InfluxDB 1.6 from Debian).
#
# Upstream contract (influxdb:1.12): ENTRYPOINT /entrypoint.sh, CMD influxd; arguments starting
# with '-' are options of influxd. On the first start (no /var/lib/influxdb/meta), when
# INFLUXDB_DB is set or INFLUXDB_HTTP_AUTH_ENABLED=true and INFLUXDB_ADMIN_USER are, a server
# bound to 127.0.0.1 only is started and given the INFLUXDB_DB database and, with auth on, the
# admin INFLUXDB_ADMIN_USER (INFLUXDB_ADMIN_PASSWORD) with all privileges and the user
# INFLUXDB_USER (INFLUXDB_USER_PASSWORD) with ALL on the database, then stopped; an existing
# database is used as it is. Every other INFLUXDB_* variable overrides influxd's configuration
# (influxd reads them itself). The server runs as user influxdb and replaces this script (exec).
#
# The statements go to the server in the body of a POST (curl reads its options on stdin), not
# on a command line as upstream's influx -execute does. /docker-entrypoint-initdb.d is not
# supported (the broker does not use it).
set -eu

# The official image has this script as /entrypoint.sh: the broker's command execs it there.
[ -e /entrypoint.sh ] || ln -s "$0" /entrypoint.sh

case "${1:-}" in
-*) set -- influxd "$@" ;;
esac
if [ "${1:-}" != influxd ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -p /var/lib/influxdb
	find /var/lib/influxdb \! -user influxdb -exec chown influxdb:influxdb '{}' +
	exec setpriv --reuid=influxdb --regid=influxdb --init-groups "$0" "$@"
fi

log() { echo "docker-entrypoint: $*" >&2; }

# quoted VALUE: VALUE as a double-quoted string of curl's configuration syntax.
quoted() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\"]/\\&/g')"; }

# query STATEMENT: runs STATEMENT on the local init server (as the admin once auth is on);
# fails on an HTTP error or an error in the result.
query() {
	out=$({
		echo 'url = "http://127.0.0.1:8086/query"'
		if [ -n "${auth:-}" ]; then
			printf 'user = %s\n' "$(quoted "$INFLUXDB_ADMIN_USER:$INFLUXDB_ADMIN_PASSWORD")"
		fi
		printf 'data-urlencode = %s\n' "$(quoted "q=$1")"
	} | curl -sS -K -) || return 1
	case $out in
	*'"error"'*) log "$out"; return 1 ;;
	esac
}

meta=${INFLUXDB_META_DIR:-/var/lib/influxdb/meta}
auth_on=
case ${INFLUXDB_HTTP_AUTH_ENABLED:-} in [Tt][Rr][Uu][Ee]) auth_on=1 ;; esac
init_users=
if [ -n "$auth_on" ] && [ -n "${INFLUXDB_ADMIN_USER:-}" ]; then
	init_users=1
fi

if { [ -n "$init_users" ] || [ -n "${INFLUXDB_DB:-}" ]; } && [ ! -d "$meta" ]; then
	log "initialising the database"
	# "$@" is influxd and its options.
	INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:8086 INFLUXDB_HTTP_HTTPS_ENABLED=false "$@" &
	pid=$!
	if [ -n "$init_users" ]; then
		first="CREATE USER \"$INFLUXDB_ADMIN_USER\" WITH PASSWORD '${INFLUXDB_ADMIN_PASSWORD:-}' WITH ALL PRIVILEGES"
	else
		first="CREATE DATABASE \"$INFLUXDB_DB\""
	fi
	i=0
	until query "$first" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 60 ]; then
			log "influxdb init process failed"
			exit 1
		fi
		sleep 1
	done
	if [ -n "$init_users" ]; then
		auth=1
		if [ -n "${INFLUXDB_DB:-}" ]; then
			query "CREATE DATABASE \"$INFLUXDB_DB\""
		fi
		if [ -n "${INFLUXDB_USER:-}" ]; then
			query "CREATE USER \"$INFLUXDB_USER\" WITH PASSWORD '${INFLUXDB_USER_PASSWORD:-}'"
			query "REVOKE ALL PRIVILEGES FROM \"$INFLUXDB_USER\""
			if [ -n "${INFLUXDB_DB:-}" ]; then
				query "GRANT ALL ON \"$INFLUXDB_DB\" TO \"$INFLUXDB_USER\""
			fi
		fi
	fi
	kill -TERM "$pid"
	wait "$pid" || true
	log "database initialised"
fi

exec "$@"
