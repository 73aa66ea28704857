#!/bin/bash
# Entrypoint of the docker-broker zookeeper stand-in image (ZooKeeper 3.8 from Debian, on
# OpenJDK 17 headless), and the image's zkServer.sh and zkCli.sh (this script under those names).
#
# Upstream contract (zookeeper:3.9): /docker-entrypoint.sh; for zkServer.sh, started as root,
# it gives the data, transaction log and log directories to user zookeeper and runs itself
# again as that user; it writes $ZOO_CONF_DIR/zoo.cfg from the ZOO_* variables if there is
# none (ZOO_SERVERS, default a standalone server.1; ZOO_4LW_COMMANDS_WHITELIST; ZOO_CFG_EXTRA,
# whitespace-separated key=value entries) and ZOO_MY_ID (default 1) to $ZOO_DATA_DIR/myid if
# there is none, then replaces itself (exec) with the command.
#
# Debian's own zkServer.sh and zkCli.sh come with the zookeeper package, which depends on the
# desktop Java runtime (GTK, Mesa, LLVM): the image has the library (libzookeeper-java) and the
# headless runtime, and these two commands as the upstream scripts run them. zkServer.sh knows
# start-foreground only (the official image's CMD; a container has no use for the daemon's
# start/stop/status), with ZK_SERVER_HEAP (MB, default 1000), SERVER_JVMFLAGS and JVMFLAGS;
# zkCli.sh takes the upstream arguments, with ZK_CLIENT_HEAP (MB, default 256) and
# CLIENT_JVMFLAGS. The log goes to the console (slf4j-simple), as the official image's
# logback configuration does.
set -e

# zookeeper.jar's manifest names the jars it needs but for the servlet API (the admin server's)
# and a logger.
classpath="$ZOOCFGDIR:/usr/share/java/zookeeper.jar:/usr/share/java/servlet-api.jar:/usr/share/java/slf4j-simple.jar"

case "${0##*/}" in
zkServer.sh)
	if [[ "$1" != start-foreground ]]; then
		echo "zkServer.sh: this stand-in runs start-foreground only, not '$1'" >&2
		exit 2
	fi
	# shellcheck disable=SC2086 # the flags are lists of options, as upstream splits them
	exec java "-Dzookeeper.log.dir=$ZOO_LOG_DIR" -XX:+HeapDumpOnOutOfMemoryError \
		-XX:OnOutOfMemoryError='kill -9 %p' -cp "$classpath" \
		"-Xmx${ZK_SERVER_HEAP:-1000}m" $SERVER_JVMFLAGS $JVMFLAGS \
		org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFGDIR/zoo.cfg"
	;;
zkCli.sh)
	# shellcheck disable=SC2086
	exec java "-Dzookeeper.log.dir=$ZOO_LOG_DIR" -cp "$classpath" \
		"-Xmx${ZK_CLIENT_HEAP:-256}m" $CLIENT_JVMFLAGS $JVMFLAGS \
		org.apache.zookeeper.ZooKeeperMain "$@"
	;;
esac

# The official image has this script as /docker-entrypoint.sh, the commands on PATH, user
# zookeeper and its directories, owned by it: commands name them. They are made here, once
# per container, as Debian's zookeeper package (not installed, see above) would have at install.
if [[ "$(id -u)" = 0 ]]; then
	[[ -e /docker-entrypoint.sh ]] || ln -s "$0" /docker-entrypoint.sh
	for tool in zkServer.sh zkCli.sh; do
		[[ -e /usr/local/bin/$tool ]] || ln -s "$0" /usr/local/bin/$tool
	done
	id zookeeper >/dev/null 2>&1 ||
		useradd --system --user-group --no-create-home --home-dir "$ZOO_DATA_DIR" zookeeper
	for dir in "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"; do
		[[ -d $dir ]] || install -d -o zookeeper -g zookeeper "$dir"
	done
fi

if [[ "$1" = zkServer.sh && "$(id -u)" = 0 ]]; then
	chown -R zookeeper:zookeeper "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
	exec setpriv --reuid=zookeeper --regid=zookeeper --init-groups "$0" "$@"
fi

if [[ ! -f "$ZOO_CONF_DIR/zoo.cfg" ]]; then
	{
		echo "dataDir=$ZOO_DATA_DIR"
		echo "dataLogDir=$ZOO_DATA_LOG_DIR"
		echo "tickTime=$ZOO_TICK_TIME"
		echo "initLimit=$ZOO_INIT_LIMIT"
		echo "syncLimit=$ZOO_SYNC_LIMIT"
		echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
		echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
		echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
		echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
		echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
		for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do
			echo "$server"
		done
		if [[ -n $ZOO_4LW_COMMANDS_WHITELIST ]]; then
			echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
		fi
		for extra in $ZOO_CFG_EXTRA; do
			echo "$extra"
		done
	} >"$ZOO_CONF_DIR/zoo.cfg"
fi

if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
	echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi

exec "$@"
