#!/bin/sh
# Entrypoint of the docker-broker memcached stand-in image (memcached 1.6.18 from Debian).
#
# Upstream contract (memcached:1.6): the arguments are memcached's, with memcached implied
#   before options (`docker run memcached:1.6 memcached -m 64` or `docker run memcached:1.6
#   -m 64`); anything else runs as given. Everything runs as user memcache, the official
#   image's USER. No data directory: memcached keeps its items in memory only.
#
# The command replaces this script (exec), so `docker stop` reaches memcached directly.
set -eu

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- memcached "$@"
fi

if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=memcache --regid=memcache --init-groups "$@"
fi
exec "$@"
