#!/bin/sh
# Entrypoint of the docker-broker etcd stand-in image (etcd 3.4 from Debian).
#
# Upstream contract (gcr.io/etcd-development/etcd:v3.6): no entrypoint, CMD /usr/local/bin/etcd,
# the configuration in ETCD_* variables (etcd reads them itself), WORKDIR /var/lib/etcd, the
# binaries in /usr/local/bin, root. This script only puts Debian's binaries where the official
# image has them, so that commands naming /usr/local/bin/etcd or etcdctl run, then replaces
# itself (exec) with the command: `docker stop` reaches etcd directly.
set -eu
for tool in etcd etcdctl; do
	[ -e /usr/local/bin/$tool ] || ln -s /usr/bin/$tool /usr/local/bin/$tool
done
exec "$@"
