#!/bin/sh
# Entrypoint of the docker-broker mosquitto stand-in image (Mosquitto 2.0.11 from Debian).
#
# Upstream contract (eclipse-mosquitto:2.0.22, whose entrypoint this is): the command runs as
#   given, by default `mosquitto -c /mosquitto/config/mosquitto.conf`; started as root, the
#   entrypoint first gives /mosquitto (config, data, log: where volumes are mounted) to user
#   mosquitto, to which mosquitto itself switches once it has read its configuration.
#
# The command replaces this script (exec): mosquitto is PID 1 and gets `docker stop`'s SIGTERM
# (saving its persistence file) and a reload's SIGHUP directly.
set -eu

if [ "$(id -u)" = 0 ]; then
	mkdir -p /mosquitto/config /mosquitto/data /mosquitto/log
	chown -R mosquitto:mosquitto /mosquitto
fi
exec "$@"
