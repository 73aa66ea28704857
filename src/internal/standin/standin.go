// Package standin builds local stand-ins for the service images the broker runs (Redis,
// PostgreSQL, MariaDB/MySQL, RabbitMQ) from Debian packages, for machines without an image
// registry.
//
// An image is a Debian root file system plus an entrypoint script that honours the
// environment contract of the upstream official images it is tagged as (redis:7 and
// redis:7.4, postgres:15 and postgres:17, mariadb:10.11 and mysql:8.4, rabbitmq:4-management;
// the Debian versions are older: Redis 7.0, PostgreSQL 15, MariaDB 10.11, RabbitMQ 3.10; see
// each recipe for all its tags) and
// of the legacy frodenas images the original service files reference (frodenas/redis:3.2,
// frodenas/postgresql:9.6, frodenas/mysql:5.6). Archive writes it as a `docker save` archive,
// which any engine loads with POST /images/load (`docker load`); no engine is needed to build
// it.
//
// The images share their work: one Debian base (debootstrap --variant=minbase, package lists
// included) is built once per machine and cached; each recipe copies it, installs its
// packages into the copy with apt (downloads shared between recipes too), and its image is two
// layers, the base's (the same bytes in every image, so that an engine stores it once) and
// the recipe's changes to it (layer.go). Archives builds several recipes, two at a time by
// default. Measured on two cores shared with other work: the base takes 3.5 minutes (13 when
// the cores were very busy), an image on it from half a minute (redis, memcached) to one and
// a half (postgresql), seven images with their base 7.5 minutes; an engine stores the first
// four images in 540 MB instead of 780 MB. Archives are cached on disk, keyed by a hash of
// everything that defines the image and its base, so a machine builds each recipe once; a
// lookup in the cache takes under a millisecond.
package standin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Suite is the Debian release the images are built from.
const Suite = "bookworm"

// DefaultMirror is the Debian archive used when $DEBIAN_MIRROR is not set.
const DefaultMirror = "http://deb.debian.org/debian"

// formatVersion is part of every cache key: bump it whenever the way an image is built or
// packed changes (cleanup rules, tar options, archive layout), so that old archives are rebuilt.
const formatVersion = 2

// EntrypointPath is where the recipe's entrypoint script lives in the image.
const EntrypointPath = "/usr/local/bin/docker-entrypoint.sh"

// Labels set on every stand-in image.
const (
	LabelName = "org.cloudfoundry-community.docker-broker.standin"     // the recipe name
	LabelKey  = "org.cloudfoundry-community.docker-broker.standin-key" // the cache key (hash12)
)

//go:embed entrypoints/*.sh
var entrypoints embed.FS

// Recipe describes one stand-in image built from Debian packages.
type Recipe struct {
	Name         string   // "redis", "postgresql", "mariadb", "rabbitmq"
	Tags         []string // image references the archive is tagged with; Tags[0] is the canonical one
	Packages     []string // Debian packages installed on the base (without what they only recommend)
	Entrypoint   string   // file name under entrypoints/
	Cmd          []string // the image's default CMD
	Env          []string // the image's ENV ("KEY=VALUE")
	ExposedPorts []string // e.g. "6379/tcp"
	WorkingDir   string   // the image's WORKDIR ("" is /)
	StopSignal   string   // the image's STOPSIGNAL ("" is the engine's default, SIGTERM)
	// Remove lists paths (shell globs, relative to the root file system) deleted after
	// the packages' install, e.g. the cluster a package's postinst created that the entrypoint must not
	// find in the image.
	Remove []string
	// Files are written into the root file system after the removals (path relative to the
	// root file system -> content; mode 0644, owned by root): the configuration files the
	// official image ships, which the entrypoint would otherwise have to write at every start.
	Files map[string]string
}

const basePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Redis is redis-server 7.0 (Debian bookworm, with redis-cli) answering to both the upstream
// redis:7, redis:7.4, redis:8 and valkey/valkey:8.1 contract (arguments passed to the server,
// implied when the first one is an option) and the legacy frodenas/redis:3.2 one
// (REDIS_PASSWORD). It is a protocol stand-in for Redis 8 and Valkey 8.1: what services files
// use of them (ACL users, the append-only file) is in 7.0. Valkey's image has the redis-*
// names too (compatibility symbolic links that `make install` adds), which services files
// use, so the stand-in needs no valkey-* ones.
var Redis = Recipe{
	Name:         "redis",
	Tags:         []string{"frodenas/redis:3.2", "redis:7", "redis:7.4", "redis:8", "valkey/valkey:8.1"},
	Packages:     []string{"redis-server"},
	Entrypoint:   "redis.sh",
	Cmd:          []string{"redis-server"},
	Env:          []string{basePath, "LANG=C.UTF-8"},
	ExposedPorts: []string{"6379/tcp"},
	WorkingDir:   "/data",
}

// PostgreSQL is PostgreSQL 15 (Debian bookworm, with psql) answering to both the upstream
// postgres:15, postgres:17 and postgres:18 contract (POSTGRES_USER, POSTGRES_PASSWORD,
// POSTGRES_DB, each also as *_FILE, PGDATA, /docker-entrypoint-initdb.d/*.sql) and the legacy
// frodenas/postgresql:9.6 one (POSTGRES_USERNAME, POSTGRES_PASSWORD, POSTGRES_DBNAME, /data;
// the user is a superuser). postgres:18 keeps its data under /var/lib/postgresql/18/docker,
// its image's PGDATA: the stand-in's default stays postgres:17's, so a services file for 18
// sets PGDATA (see the entrypoint).
var PostgreSQL = Recipe{
	Name:       "postgresql",
	Tags:       []string{"frodenas/postgresql:9.6", "postgres:15", "postgres:17", "postgres:18"},
	Packages:   []string{"postgresql"},
	Entrypoint: "postgresql.sh",
	Cmd:        []string{"postgres"},
	Env: []string{
		"PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
	},
	ExposedPorts: []string{"5432/tcp"},
	// SIGINT is PostgreSQL's "fast" shutdown (as in the upstream image): SIGTERM ("smart")
	// would wait for every client to disconnect and be cut short by the engine's SIGKILL.
	StopSignal: "SIGINT",
	Remove:     postgresqlRemove,
}

// postgresqlRemove is what the PostgreSQL server of both PostgreSQL and PostGIS does without.
var postgresqlRemove = []string{
	"var/lib/postgresql/15", // the "main" cluster postgresql-common created
	"etc/postgresql/15",
	// The LLVM JIT provider and its libraries (~130 MB). Without them the server silently
	// runs without JIT.
	"usr/lib/postgresql/15/lib/llvmjit*",
	"usr/lib/postgresql/15/lib/bitcode",
	"usr/lib/x86_64-linux-gnu/libLLVM-*.so*",
	"usr/lib/x86_64-linux-gnu/libz3.so*",
	"usr/lib/aarch64-linux-gnu/libLLVM-*.so*",
	"usr/lib/aarch64-linux-gnu/libz3.so*",
}

// PostGIS is PostgreSQL 15 with PostGIS 3.3 (Debian bookworm) answering to the contract of
// the upstream postgis/postgis:17-3.5 image, which is postgres:17's (the PostgreSQL recipe's
// entrypoint) plus an init script that creates the extensions postgis and postgis_topology in
// POSTGRES_DB on the first start, so that an app can use PostGIS right away (upstream also
// makes a database template_postgis and the tiger geocoder, which nothing here needs). The
// raster and SFCGAL support are left out (postgisRemove): with GDAL and its formats they
// weigh ~100 MB, and nothing else loads them.
var PostGIS = Recipe{
	Name:         "postgis",
	Tags:         []string{"postgis/postgis:17-3.5"},
	Packages:     []string{"postgresql", "postgresql-15-postgis-3"},
	Entrypoint:   PostgreSQL.Entrypoint,
	Cmd:          PostgreSQL.Cmd,
	Env:          PostgreSQL.Env,
	ExposedPorts: PostgreSQL.ExposedPorts,
	StopSignal:   PostgreSQL.StopSignal,
	Remove:       append(slices.Clone(postgresqlRemove), postgisRemove...),
	Files: map[string]string{
		"docker-entrypoint-initdb.d/10_postgis.sql": `-- docker-broker stand-in: as the postgis/postgis image's initdb-postgis.sh.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS postgis_topology;
`,
	},
}

// postgisRemove is what PostGIS without raster support does without (~100 MB, the image is
// ~350 MB unpacked): the raster and SFCGAL modules and the libraries that only they, GDAL and
// GDAL's drivers link against. postgis-3.so and postgis_topology-3.so keep what they link
// against (GEOS, PROJ with its libtiff/libcurl, json-c, protobuf-c, libxml2: checked with ldd).
var postgisRemove = []string{
	"usr/lib/postgresql/15/lib/postgis_raster-3.so",
	"usr/lib/postgresql/15/lib/postgis_sfcgal-3.so",
	"usr/share/postgresql/15/extension/postgis_raster*",
	"usr/share/postgresql/15/extension/postgis_sfcgal*",
	"usr/share/gdal",
	"usr/lib/*-linux-gnu/gdalplugins",
	"usr/lib/*-linux-gnu/libgdal.so*",
	"usr/lib/*-linux-gnu/libSFCGAL.so*",
	"usr/lib/*-linux-gnu/libboost_*",
	"usr/lib/*-linux-gnu/libmpfr.so*",
	// GDAL's formats: SpatiaLite, PDF, images, HDF5/NetCDF/FITS, KML, ODBC, MariaDB, ...
	"usr/lib/*-linux-gnu/libspatialite.so*",
	"usr/lib/*-linux-gnu/librttopo.so*",
	"usr/lib/*-linux-gnu/libfreexl.so*",
	"usr/lib/*-linux-gnu/libminizip.so*",
	"usr/lib/*-linux-gnu/libpoppler.so*",
	"usr/lib/*-linux-gnu/libfreetype.so*",
	"usr/lib/*-linux-gnu/libfontconfig.so*",
	"usr/lib/*-linux-gnu/libpng16.so*",
	"usr/lib/*-linux-gnu/liblcms2.so*",
	"usr/lib/*-linux-gnu/libopenjp2.so*",
	"usr/lib/*-linux-gnu/libgif.so*",
	"usr/lib/*-linux-gnu/libheif.so*",
	"usr/lib/*-linux-gnu/libx265.so*",
	"usr/lib/*-linux-gnu/libaom.so*",
	"usr/lib/*-linux-gnu/libdav1d.so*",
	"usr/lib/*-linux-gnu/libde265.so*",
	"usr/lib/*-linux-gnu/libhdf5*",
	"usr/lib/*-linux-gnu/libnetcdf.so*",
	"usr/lib/*-linux-gnu/libsz.so*",
	"usr/lib/*-linux-gnu/libaec.so*",
	"usr/lib/*-linux-gnu/libblosc.so*",
	"usr/lib/*-linux-gnu/libcfitsio.so*",
	"usr/lib/*-linux-gnu/libgfortran.so*",
	"usr/lib/*-linux-gnu/libquadmath.so*",
	"usr/lib/*-linux-gnu/libarpack.so*",
	"usr/lib/*-linux-gnu/libsuperlu.so*",
	"usr/lib/*-linux-gnu/blas",
	"usr/lib/*-linux-gnu/lapack",
	"usr/lib/*-linux-gnu/libblas.so*",
	"usr/lib/*-linux-gnu/liblapack.so*",
	"usr/lib/*-linux-gnu/libqhull*",
	"usr/lib/*-linux-gnu/libkml*",
	"usr/lib/*-linux-gnu/liburiparser.so*",
	"usr/lib/*-linux-gnu/libxerces-c*",
	"usr/lib/*-linux-gnu/libgeotiff.so*",
	"usr/lib/*-linux-gnu/libfyba.so*",
	"usr/lib/*-linux-gnu/libfygm.so*",
	"usr/lib/*-linux-gnu/libfyut.so*",
	"usr/lib/*-linux-gnu/libodbc*",
	"usr/lib/*-linux-gnu/libmariadb*",
	"usr/lib/*-linux-gnu/libcurl.so*", // GDAL's; PROJ links libcurl-gnutls
}

// MariaDB is MariaDB 10.11 (Debian bookworm, with the client as both mariadb and mysql)
// answering to both the upstream mariadb:10.11, mariadb:11.8 and mysql:8.4 contract
// (MYSQL_*/MARIADB_* USER, PASSWORD, DATABASE, ROOT_PASSWORD, each also as *_FILE) and the
// legacy frodenas/mysql:5.6 one (MYSQL_USERNAME, MYSQL_PASSWORD, MYSQL_DBNAME, /data; the
// user has all privileges on *.* with grant option). mariadb:11.8 ships the clients as
// mariadb and mariadb-admin only (no mysql* names), which its services file uses.
var MariaDB = Recipe{
	Name:         "mariadb",
	Tags:         []string{"frodenas/mysql:5.6", "mariadb:10.11", "mariadb:11.8", "mysql:8.4"},
	Packages:     []string{"mariadb-server"},
	Entrypoint:   "mariadb.sh",
	Cmd:          []string{"mariadbd"},
	Env:          []string{basePath, "LANG=C.UTF-8"},
	ExposedPorts: []string{"3306/tcp"},
	Remove: []string{
		"var/lib/mysql/*", // the system tables the package's postinst created
	},
}

// RabbitMQ is RabbitMQ 3.10 (Debian bookworm) with the management plugin, answering to the
// contract of the upstream rabbitmq:4-management image (RABBITMQ_DEFAULT_USER,
// RABBITMQ_DEFAULT_PASS, RABBITMQ_DEFAULT_VHOST, a main config file at RABBITMQ_CONFIG_FILE;
// data in /var/lib/rabbitmq under the node name rabbit@<hostname>) plus
// RABBITMQ_DEFAULT_USER_FILE and RABBITMQ_DEFAULT_PASS_FILE, which upstream refuses (see the
// entrypoint).
var RabbitMQ = Recipe{
	Name:       "rabbitmq",
	Tags:       []string{"rabbitmq:4-management"},
	Packages:   []string{"rabbitmq-server"},
	Entrypoint: "rabbitmq.sh",
	Cmd:        []string{"rabbitmq-server"},
	Env: []string{
		// The CLI tools themselves (rabbitmqctl, rabbitmq-diagnostics) before Debian's
		// wrappers in /usr/sbin, which `su` to user rabbitmq: as in the official image, they
		// run as whoever calls them and find the Erlang cookie through HOME.
		"PATH=/usr/lib/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/var/lib/rabbitmq",
		// The CLI tools (Elixir) want a UTF-8 locale, as in the official image.
		"LANG=C.UTF-8", "LANGUAGE=C.UTF-8", "LC_ALL=C.UTF-8",
	},
	ExposedPorts: []string{"5672/tcp", "15672/tcp"},
	// The Erlang VM shuts down cleanly on SIGTERM (the entrypoint execs it: it is PID 1).
	StopSignal: "SIGTERM",
	Remove: []string{
		// The cookie the package's postinst generated: every container of the image would
		// share it. The entrypoint makes one per data directory.
		"var/lib/rabbitmq/.erlang.cookie",
		// Python (~35 MB) only serves rabbitmqadmin, which is not on PATH.
		"usr/bin/python3*",
		"usr/lib/python3*",
		"usr/share/python3",
	},
	Files: map[string]string{
		// The official image's conf.d defaults.
		"etc/rabbitmq/conf.d/10-defaults.conf": `# docker-broker stand-in: the defaults of the official rabbitmq image.
# The guest user (created only without RABBITMQ_DEFAULT_USER) may log in from anywhere.
loopback_users.guest = false
# Logs go to the container's output only, not into files of the container, and without
# terminal colour codes: the engine's log is no terminal.
log.console = true
log.console.use_colors = off
log.file = false
`,
		// As `rabbitmq-plugins enable --offline rabbitmq_management` leaves it.
		"etc/rabbitmq/enabled_plugins": "[rabbitmq_management].\n",
	},
}

// Memcached is memcached 1.6.18 (Debian bookworm) answering to the contract of the upstream
// memcached:1.6 image: the arguments are memcached's (memcached implied before options), and it
// runs as user memcache.
var Memcached = Recipe{
	Name:         "memcached",
	Tags:         []string{"memcached:1.6"},
	Packages:     []string{"memcached"},
	Entrypoint:   "memcached.sh",
	Cmd:          []string{"memcached"},
	Env:          []string{basePath},
	ExposedPorts: []string{"11211/tcp"},
	Remove: []string{
		// Perl's modules and library (~25 MB) only serve memcached-tool, which the official
		// image does not ship either; perl-base, part of every Debian system, stays.
		"usr/bin/memcached-tool",
		"usr/share/perl/*",
		"usr/lib/*-linux-gnu/perl/*",
		"usr/lib/*-linux-gnu/libperl.so*",
	},
}

// NATS is nats-server 2.9.10 (Debian bookworm, with wget for health checks as busybox's in the
// official image) answering to the contract of the upstream nats:2.12-alpine image: the
// arguments are nats-server's (nats-server implied before options), it runs as root, the
// default command serves /etc/nats/nats-server.conf, and there is a shell (the alpine variant;
// the plain nats:2 image is a scratch one with nothing but the server).
var NATS = Recipe{
	Name:         "nats",
	Tags:         []string{"nats:2.12-alpine"},
	Packages:     []string{"nats-server", "wget"},
	Entrypoint:   "nats.sh",
	Cmd:          []string{"nats-server", "--config", "/etc/nats/nats-server.conf"},
	Env:          []string{basePath},
	ExposedPorts: []string{"4222/tcp", "6222/tcp", "8222/tcp"},
	Files: map[string]string{
		// The official image's configuration, but for its cluster block (routes to hosts
		// named nats-server-*, which a single stand-in has no use for).
		"etc/nats/nats-server.conf": `# docker-broker stand-in: the client and monitoring ports of the official nats image's
# configuration.
port: 4222
monitor_port: 8222
`,
	},
}

// Mosquitto is Mosquitto 2.0.11 (Debian bookworm, with mosquitto_passwd and the clients
// mosquitto_pub and mosquitto_sub) answering to the contract of the upstream
// eclipse-mosquitto:2.0.22 image: configuration in /mosquitto/config/mosquitto.conf, data in
// /mosquitto/data, both given to user mosquitto at start, as which the broker runs.
var Mosquitto = Recipe{
	Name:         "mosquitto",
	Tags:         []string{"eclipse-mosquitto:2.0.22"},
	Packages:     []string{"mosquitto", "mosquitto-clients"},
	Entrypoint:   "mosquitto.sh",
	Cmd:          []string{"/usr/sbin/mosquitto", "-c", "/mosquitto/config/mosquitto.conf"},
	Env:          []string{basePath},
	ExposedPorts: []string{"1883/tcp"},
	Files: map[string]string{
		// The official image ships the commented example; this is its effect: a listener on
		// port 1883 of the loopback interface only, without authentication, nothing kept.
		"mosquitto/config/mosquitto.conf": "# docker-broker stand-in: Mosquitto's defaults, as the official image's example file.\n",
	},
}

// Etcd is etcd 3.4 (Debian bookworm, with etcdctl) answering to the contract of the official
// gcr.io/etcd-development/etcd:v3.6.16 image: no entrypoint of its own there (a distroless image
// without a shell), CMD /usr/local/bin/etcd configured by ETCD_* variables (etcd reads them
// itself), WORKDIR /var/lib/etcd, etcd, etcdctl and etcdutl in /usr/local/bin, running as root.
// Debian's 3.4 has no etcdutl; what the services file uses (etcd, etcdctl endpoint health, the
// v3 API) is the same.
var Etcd = Recipe{
	Name:         "etcd",
	Tags:         []string{"gcr.io/etcd-development/etcd:v3.6.16"},
	Packages:     []string{"etcd-server", "etcd-client"},
	Entrypoint:   "etcd.sh",
	Cmd:          []string{"/usr/local/bin/etcd"},
	Env:          []string{basePath},
	ExposedPorts: []string{"2379/tcp", "2380/tcp"},
	WorkingDir:   "/var/lib/etcd",
	Remove: []string{
		"var/lib/etcd/*", // whatever the package's postinst left: the image has an empty WORKDIR
		"usr/share/doc/*",
		"usr/share/man/*",
	},
}

// InfluxDB1 is InfluxDB 1.6 (Debian bookworm, with the influx CLI and curl) answering to the
// contract of the official influxdb:1.12 image: /entrypoint.sh, which runs the image's
// /init-influxdb.sh before influxd (on the first start, without /var/lib/influxdb/meta: the
// INFLUXDB_DB database, with INFLUXDB_HTTP_AUTH_ENABLED=true the INFLUXDB_ADMIN_USER admin and
// the INFLUXDB_USER user with all privileges on the database), every other INFLUXDB_* variable
// overriding the configuration (influxd reads them itself), the data in /var/lib/influxdb, the
// server running as user influxdb. The official image is buildpack-deps:bookworm-curl: curl is
// there.
var InfluxDB1 = Recipe{
	Name:         "influxdb1",
	Tags:         []string{"influxdb:1.12"},
	Packages:     []string{"influxdb", "influxdb-client", "curl"},
	Entrypoint:   "influxdb1.sh",
	Cmd:          []string{"influxd"},
	Env:          []string{basePath},
	ExposedPorts: []string{"8086/tcp"},
	Remove: []string{
		"var/lib/influxdb/*",
		"etc/influxdb/influxdb.conf",
		"usr/share/doc/*",
		"usr/share/man/*",
	},
	Files: map[string]string{
		// The official image's configuration: everything in /var/lib/influxdb.
		"etc/influxdb/influxdb.conf": `[meta]
  dir = "/var/lib/influxdb/meta"

[data]
  dir = "/var/lib/influxdb/data"
  engine = "tsm1"
  wal-dir = "/var/lib/influxdb/wal"
`,
	},
}

// ZooKeeper is ZooKeeper 3.8 (Debian bookworm's library, on OpenJDK 17 headless) answering to
// the contract of the official zookeeper:3.9 image: /docker-entrypoint.sh, which writes
// $ZOO_CONF_DIR/zoo.cfg from the ZOO_* variables when there is none and the server id to
// $ZOO_DATA_DIR/myid, then runs CMD zkServer.sh start-foreground as user zookeeper; the
// configuration in /conf, snapshots in /data, transaction logs in /datalog; zkServer.sh and
// zkCli.sh on PATH, ZK_SERVER_HEAP (MB, default 1000) honoured; bash and nc (netcat-openbsd) as
// in the official image. Debian's zookeeper package (its scripts) depends on the desktop Java
// runtime: the entrypoint stands in for zkServer.sh and zkCli.sh (see it).
var ZooKeeper = Recipe{
	Name:       "zookeeper",
	Tags:       []string{"zookeeper:3.9"},
	Packages:   []string{"libzookeeper-java", "openjdk-17-jre-headless", "netcat-openbsd", "bash"},
	Entrypoint: "zookeeper.sh",
	Cmd:        []string{"zkServer.sh", "start-foreground"},
	Env: []string{
		basePath,
		"ZOO_CONF_DIR=/conf", "ZOO_DATA_DIR=/data", "ZOO_DATA_LOG_DIR=/datalog", "ZOO_LOG_DIR=/logs",
		"ZOO_TICK_TIME=2000", "ZOO_INIT_LIMIT=5", "ZOO_SYNC_LIMIT=2",
		"ZOO_AUTOPURGE_PURGEINTERVAL=0", "ZOO_AUTOPURGE_SNAPRETAINCOUNT=3",
		"ZOO_MAX_CLIENT_CNXNS=60", "ZOO_STANDALONE_ENABLED=true", "ZOO_ADMINSERVER_ENABLED=true",
		"ZOOCFGDIR=/conf",
	},
	ExposedPorts: []string{"2181/tcp", "2888/tcp", "3888/tcp", "8080/tcp"},
	Remove: []string{
		"usr/share/doc/*",
		"usr/share/man/*",
		"usr/share/maven-repo", // the jars' second copies under Maven names
		// The JRE's symbol table for javac --release (8 MB), and its class data archive
		// for heaps over 32 GB (12 MB): neither is used by a server of a few GB.
		"usr/lib/jvm/java-17-openjdk-*/lib/ct.sym",
		"usr/lib/jvm/java-17-openjdk-*/lib/server/classes_nocoops.jsa",
		// Jars the library's packages pull in (~25 MB) that are not on the class path of
		// the server or zkCli.sh (zookeeper.jar's manifest, transitively, with
		// servlet-api.jar for the admin server): Jasper's Java compiler, Tomcat, Spring,
		// JNR, JavaMail, Guava, JUnit, log4j 1.2, ASM, the GUI inspector and the tests.
		"usr/share/java/eclipse-jdt-core*",
		"usr/share/java/tomcat9-*",
		"usr/share/java/spring3-*",
		"usr/share/java/jnr-*",
		"usr/share/java/jffi*",
		"usr/share/java/javax.mail*",
		"usr/share/java/mailapi*",
		"usr/share/java/guava*",
		"usr/share/java/junit4*",
		"usr/share/java/hamcrest*",
		"usr/share/java/log4j-1.2*",
		"usr/share/java/asm*",
		"usr/share/java/taglibs-*",
		"usr/share/java/jetty9-apache-*",
		"usr/share/java/zookeeper-contrib-*",
		"usr/share/java/zookeeper-it*",
	},
}

// All returns every recipe.
func All() []Recipe {
	return []Recipe{Redis, PostgreSQL, PostGIS, MariaDB, RabbitMQ, Memcached, NATS, Mosquitto, Etcd, InfluxDB1, ZooKeeper}
}

// CacheDir is where archives are cached: $DOCKER_BROKER_IMAGE_CACHE if set, else
// os.UserCacheDir()/docker-broker/standin-images.
func CacheDir() (string, error) {
	if dir := os.Getenv("DOCKER_BROKER_IMAGE_CACHE"); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("stand-in image cache: %w (set DOCKER_BROKER_IMAGE_CACHE)", err)
	}
	return filepath.Join(base, "docker-broker", "standin-images"), nil
}

// entrypoint returns the recipe's entrypoint script.
func (r Recipe) entrypoint() ([]byte, error) {
	if r.Entrypoint == "" {
		return nil, fmt.Errorf("stand-in %q: no entrypoint", r.Name)
	}
	b, err := entrypoints.ReadFile("entrypoints/" + r.Entrypoint)
	if err != nil {
		return nil, fmt.Errorf("stand-in %q: entrypoint: %w", r.Name, err)
	}
	return b, nil
}

func (r Recipe) validate() error {
	switch {
	case r.Name == "":
		return errors.New("stand-in recipe without a name")
	case len(r.Tags) == 0:
		return fmt.Errorf("stand-in %q: no tags", r.Name)
	case len(r.Packages) == 0:
		return fmt.Errorf("stand-in %q: no packages", r.Name)
	}
	for _, c := range r.Name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("stand-in %q: the name may hold only [a-z0-9_.-]", r.Name)
		}
	}
	return nil
}

// key is the hex SHA-256 of everything that defines the recipe's image.
func (r Recipe) key() (string, error) {
	script, err := r.entrypoint()
	if err != nil {
		return "", err
	}
	base, err := baseKey()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(struct {
		Format     int
		Base       string
		Recipe     Recipe
		Entrypoint []byte
	}{formatVersion, base, r, script})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// archiveName is the cache file name of the recipe's archive: <name>-<hash12>.tar.
func (r Recipe) archiveName() (string, error) {
	if err := r.validate(); err != nil {
		return "", err
	}
	k, err := r.key()
	if err != nil {
		return "", err
	}
	return r.Name + "-" + k[:12] + ".tar", nil
}
