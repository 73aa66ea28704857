#!/bin/bash
# Entrypoint of the docker-broker rabbitmq stand-in image (RabbitMQ 3.10 from Debian, with the
# management plugin).
#
# Upstream contract (rabbitmq:4-management): RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS
#   (default guest/guest), RABBITMQ_DEFAULT_VHOST (default /): the server itself creates them
#   on its first start only (an empty database), with all permissions on that vhost and the
#   administrator tag; later starts leave users alone. Data in /var/lib/rabbitmq (the image's
#   HOME, where the Erlang cookie lives too), in a directory named after the node,
#   rabbit@<hostname>: a recreated container finds its data again only with the same
#   hostname. Long node names when the hostname is a fully qualified one. Commands other than
#   rabbitmq-server run as given (rabbitmq* ones as user rabbitmq when started as root).
#   RABBITMQ_CONFIG_FILE: the path of the server's main config file (rabbitmq.conf syntax:
#   default_user, default_pass, default_vhost, total_memory_available_override_value...), which
#   the server itself reads, as it does the directory RABBITMQ_CONFIG_FILES (default
#   /etc/rabbitmq/conf.d); a file in the data directory is made the rabbitmq user's like the rest
#   of it, so the server can read a 0600 file the broker wrote as root.
# Not upstream: RABBITMQ_DEFAULT_USER_FILE and RABBITMQ_DEFAULT_PASS_FILE, the path of a file
#   holding the value (read at start, before the server drops root; setting both VAR and
#   VAR_FILE is an error). The official image refuses them since 3.9 ("deprecated", the
#   container exits); the stand-in takes them because the broker can pass secrets as files.
#   A services file that names them does not run the official image.
#
# The server runs as user rabbitmq and replaces this script (exec, and RUNNING_UNDER_SYSTEMD
# so that rabbitmq-server execs the Erlang VM too), so `docker stop` (SIGTERM) reaches the VM,
# which shuts down cleanly.
set -euo pipefail

if [ $# -eq 0 ]; then
	set -- rabbitmq-server
fi

root=false
if [ "$(id -u)" = 0 ]; then
	root=true
fi

case "$1" in
rabbitmq-server | /usr/lib/rabbitmq/bin/rabbitmq-server | /usr/sbin/rabbitmq-server) shift ;;
rabbitmq*)
	if $root; then
		exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
	fi
	exec "$@"
	;;
*) exec "$@" ;;
esac

log() { echo "docker-entrypoint: $*" >&2; }

# file_env VAR: VAR's value from the file that VAR_FILE names, with the semantics of the
# official postgres and mariadb images. Read here, as root: the broker's secret files are 0600
# and owned by root. Exported: the server itself reads RABBITMQ_DEFAULT_*.
file_env() {
	local var=$1 file_var="$1_FILE" value
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		log "both $var and $file_var are set (but are exclusive)"
		exit 1
	fi
	if [ -n "${!file_var:-}" ]; then
		value=$(<"${!file_var}")
		export "$var=$value"
	fi
	unset "$file_var"
}
file_env RABBITMQ_DEFAULT_USER
file_env RABBITMQ_DEFAULT_PASS

data=/var/lib/rabbitmq
mkdir -p "$data"
if $root; then
	find "$data" \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
fi

# The cookie before the server starts: a CLI tool run as root (docker exec) before the server
# wrote one would create it owned by root, and the server could not read it.
cookie=$data/.erlang.cookie
if [ ! -e "$cookie" ]; then
	(
		umask 077
		head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F >"$cookie"
	)
	if $root; then
		chown rabbitmq:rabbitmq "$cookie"
	fi
	chmod 400 "$cookie"
fi

if [ -z "${RABBITMQ_USE_LONGNAME:-}" ] && [ "$(hostname)" != "$(hostname -s)" ]; then
	export RABBITMQ_USE_LONGNAME=true
fi

export RUNNING_UNDER_SYSTEMD=true
if $root; then
	exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups rabbitmq-server "$@"
fi
exec rabbitmq-server "$@"
