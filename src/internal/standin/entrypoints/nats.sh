#!/bin/sh
# Entrypoint of the docker-broker nats stand-in image (nats-server 2.9.10 from Debian).
#
# Upstream contract (nats:2.12-alpine, whose entrypoint this is): the arguments are
#   nats-server's, with nats-server implied before options (`docker run nats:2.12-alpine -js`);
#   anything else runs as given. Everything runs as root, as in the official image. The
#   default command serves /etc/nats/nats-server.conf (client port 4222, monitoring 8222).
#
# The command replaces this script (exec): nats-server is PID 1 and gets `docker stop`'s
# SIGTERM (and a SIGHUP from `kill -HUP 1` or `nats-server --signal reload=1`) directly.
set -eu

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
	set -- nats-server "$@"
fi
exec "$@"
