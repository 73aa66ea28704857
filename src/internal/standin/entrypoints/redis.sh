#!/bin/sh
# Entrypoint of the docker-broker redis stand-in image (redis-server from Debian).
#
# Upstream contract (redis:7):   docker run redis:7 redis-server --requirepass pw
#                                docker run redis:7 --requirepass pw   (redis-server is implied)
# Legacy contract (frodenas/redis:3.2): REDIS_PASSWORD=pw, data in /data.
#
# The server listens on all interfaces with protected mode off, keeps its data in /data with
# the append-only file on (so it survives the container being recreated on the same volume),
# runs as user redis and replaces this script (exec), so `docker stop` reaches it directly.
set -eu

# redis-server is implied when the first argument is an option or a config file.
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" != redis-server ] && [ "$1" != /usr/bin/redis-server ]; then
	exec "$@"
fi
shift

# A config file, if any, must stay the first argument of redis-server.
conf=
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	conf=$1
	shift
fi

mkdir -p /data
cd /data

# Defaults first: later arguments win, so the caller's own options override them (and these
# override the config file: a daemonizing server would end the container).
set -- --daemonize no --bind '*' '-::*' --protected-mode no --dir /data --appendonly yes "$@"
if [ -n "${REDIS_PASSWORD:-}" ]; then
	# Before the caller's options, so an explicit --requirepass still wins.
	set -- --requirepass "$REDIS_PASSWORD" "$@"
fi
if [ -n "$conf" ]; then
	set -- "$conf" "$@"
fi

if [ "$(id -u)" = 0 ]; then
	find /data \! -user redis -exec chown redis:redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups /usr/bin/redis-server "$@"
fi
exec /usr/bin/redis-server "$@"
