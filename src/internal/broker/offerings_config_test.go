package broker

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// imageContract is what the documentation of an offering's official image requires of the
// container that runs it. These images cannot be pulled here (no stand-in either), so the
// offerings are checked at the configuration level: the container spec the broker builds from
// the services file, on the fake engine, against the image's documented contract.
type imageContract struct {
	file  string   // services/op-*.yml
	image string   // the image ref of every plan
	ports []string // the ports published (among those the image EXPOSEs), each with a host port
	// env are the variables the image's entrypoint reads that the container must set, with
	// their value ("" for a generated credential, checked apart; "{host}" is the broker's
	// external host, "{port 9092/tcp}" the host port the instance got for 9092/tcp).
	env map[string]string
	// secretFiles are the *_FILE variables: their value is a path under /run/secrets, and no
	// secret value is anywhere in the environment.
	secretFiles []string
	notEnv      []string // variables that would carry a secret in the environment
	volumes     []string // the data directories, on the instance's persistent volumes
	// files are what the broker writes into those volumes before the start, by container path:
	// a line each holds ("{password}" stands for the instance's password). A file that holds
	// the password is the container user's alone (0600).
	files map[string]string
	// user is the container's user, when the image must not start as root; passwd its line in
	// the image's /etc/passwd.
	user, passwd string
	ulimits      []dockerengine.Ulimit
	cmd          []string // the start of the container's command; nil keeps the image's CMD
	// entrypoint is the start of the container's entrypoint; nil keeps the image's ENTRYPOINT.
	entrypoint []string
	// cmdRuns is in the entrypoint's and command's script when it wraps the image's start (the
	// entrypoint that applies the image's env contract and drops root).
	cmdRuns string
	// healthTool is the first word of the health check command (after `env VAR=value...`), a
	// tool the image ships, and toolSource where the image documents it; "" for a TCP check.
	healthTool, toolSource string
	// healthRuns is the engine's tool that a shell check runs, in the command's text.
	healthRuns string
	// healthPort is the port of a TCP check (healthTool "").
	healthPort string
	// bindingTool is the first word of the per-binding create and drop commands ("" when the
	// engine has no users), and bindingRuns the engine's client a shell command runs.
	bindingTool, bindingRuns string
}

var imageContracts = []imageContract{{
	file:  "services/op-mongodb8.yml",
	image: "mongo:8.0",
	ports: []string{"27017/tcp"},
	env: map[string]string{
		"MONGO_INITDB_ROOT_USERNAME": "",
		"MONGO_INITDB_DATABASE":      "",
	},
	secretFiles: []string{"MONGO_INITDB_ROOT_PASSWORD_FILE"},
	volumes:     []string{"/data/db"},
	// The entrypoint reads MONGO_INITDB_ROOT_PASSWORD_FILE after it dropped root (gosu mongodb):
	// the container runs as mongodb, which gets the secret file. The image's Dockerfile:
	// groupadd --gid 999 --system mongodb; useradd --uid 999 --system --gid mongodb.
	user:        "mongodb",
	passwd:      "mongodb:x:999:999::/data/db:/bin/sh",
	cmd:         []string{"mongod", "--wiredTigerCacheSizeGB"},
	healthTool:  "mongosh",
	toolSource:  "mongo:8.0 installs mongodb-mongosh (Dockerfile; the image's docs: `docker exec -it some-mongo mongosh`)",
	bindingTool: "mongosh",
	bindingRuns: "createUser",
}, {
	file:  "services/op-cassandra5.yml",
	image: "cassandra:5.0",
	ports: []string{"9042/tcp"},
	env: map[string]string{
		// cassandra-env.sh takes both or neither; the heap is the plan's, not the host's.
		"MAX_HEAP_SIZE":        "768M",
		"HEAP_NEWSIZE":         "192M",
		"CASSANDRA_ADMIN_USER": "",
		"CASSANDRA_KEYSPACE":   "",
	},
	secretFiles: []string{"CASSANDRA_ADMIN_PASSWORD_FILE"},
	volumes:     []string{"/var/lib/cassandra"},
	// The production settings of the Cassandra documentation.
	ulimits: []dockerengine.Ulimit{
		{Name: "nofile", Soft: 100000, Hard: 100000},
		{Name: "memlock", Soft: -1, Hard: -1},
		{Name: "nproc", Soft: 32768, Hard: 32768},
	},
	cmd:         []string{"sh", "-ec"},
	cmdRuns:     "docker-entrypoint.sh cassandra -f",
	healthTool:  "sh",
	healthRuns:  "nodetool statusbinary",
	toolSource:  "nodetool and cqlsh are in the Cassandra distribution's bin/ on the image's PATH (the image's docs: `docker exec -it some-cassandra cqlsh`; nodetool ships with every Cassandra)",
	bindingTool: "sh",
	bindingRuns: "cqlsh",
}, {
	file:  "services/op-clickhouse.yml",
	image: "clickhouse:25.8",
	ports: []string{"9000/tcp", "8123/tcp"},
	env: map[string]string{
		"CLICKHOUSE_USER": "",
		"CLICKHOUSE_DB":   "",
		// SQL-driven access management for that user, so that it may CREATE USER per binding.
		"CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT": "1",
	},
	secretFiles: []string{"CLICKHOUSE_PASSWORD_FILE"},
	volumes:     []string{"/var/lib/clickhouse"},
	ulimits:     []dockerengine.Ulimit{{Name: "nofile", Soft: 262144, Hard: 262144}},
	// A TCP check of the native port: the entrypoint's temporary init server listens on
	// 127.0.0.1 only, so the container's address answers once the final server runs.
	healthPort:  "9000/tcp",
	bindingTool: "sh",
	bindingRuns: "clickhouse-client",
}, {
	file:  "services/op-opensearch3.yml",
	image: "opensearchproject/opensearch:3.2.0",
	ports: []string{"9200/tcp"},
	env: map[string]string{
		"OPENSEARCH_JAVA_OPTS": "-Xms1g -Xmx1g",
	},
	// The image reads the admin's password from OPENSEARCH_INITIAL_ADMIN_PASSWORD only: the
	// command exports it from the secret file, for the entrypoint alone.
	secretFiles: []string{"OPENSEARCH_ADMIN_PASSWORD_FILE"},
	notEnv:      []string{"OPENSEARCH_INITIAL_ADMIN_PASSWORD"},
	volumes:     []string{"/usr/share/opensearch/data"},
	// memlock for bootstrap.memory_lock, nofile 65536: the image's documentation.
	ulimits: []dockerengine.Ulimit{
		{Name: "memlock", Soft: -1, Hard: -1},
		{Name: "nofile", Soft: 65536, Hard: 65536},
	},
	cmd:         []string{"sh", "-ec"},
	cmdRuns:     "exec /usr/share/opensearch/opensearch-docker-entrypoint.sh opensearch -Ediscovery.type=single-node -Ebootstrap.memory_lock=true",
	healthTool:  "sh",
	healthRuns:  "curl",
	toolSource:  "curl is in the image (its documentation's examples curl https://localhost:9200 inside the container)",
	bindingTool: "sh",
	bindingRuns: "curl",
}, {
	file:  "services/op-kafka4.yml",
	image: "apache/kafka:4.1",
	ports: []string{"9092/tcp"},
	env: map[string]string{
		// The image's KRaft single-node contract (docker/examples in the Kafka repository).
		"KAFKA_NODE_ID":                          "1",
		"KAFKA_PROCESS_ROLES":                    "broker,controller",
		"KAFKA_LISTENERS":                        "PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://localhost:9094",
		"KAFKA_ADVERTISED_LISTENERS":             "PLAINTEXT://{host}:{port 9092/tcp},INTERNAL://localhost:9094",
		"KAFKA_CONTROLLER_LISTENER_NAMES":        "CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":         "1@localhost:9093",
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT",
		"KAFKA_LOG_DIRS":                         "/var/lib/kafka/data",
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
		"KAFKA_HEAP_OPTS":                        "-Xmx512m -Xms512m",
	},
	volumes:    []string{"/var/lib/kafka/data"},
	healthTool: "/opt/kafka/bin/kafka-broker-api-versions.sh",
	toolSource: "the Kafka distribution's bin/ in /opt/kafka (the image's Dockerfile; its docs run /opt/kafka/bin/*.sh in the container)",
}, {
	file:  "services/op-couchdb3.yml",
	image: "couchdb:3.5",
	ports: []string{"5984/tcp"},
	env: map[string]string{
		"COUCHDB_DATABASE": "",
	},
	// The entrypoint (apache/couchdb-docker docker-entrypoint.sh) takes the admin from both
	// *_FILE variables or from both plain ones, reads them as root and then drops root itself.
	secretFiles: []string{"COUCHDB_USER_FILE", "COUCHDB_PASSWORD_FILE"},
	notEnv:      []string{"COUCHDB_USER", "COUCHDB_PASSWORD"},
	// The data (the image's VOLUME) and local.d, where the image's docs mount ini files and
	// CouchDB keeps what it writes at runtime (hashed admin, uuid, cookie secret).
	volumes: []string{"/opt/couchdb/data", "/opt/couchdb/etc/local.d"},
	files: map[string]string{
		"/opt/couchdb/etc/local.d/10-docker-broker.ini": "single_node = true",
	},
	ulimits:     []dockerengine.Ulimit{{Name: "nofile", Soft: 65536, Hard: 65536}},
	healthTool:  "sh",
	healthRuns:  "curl",
	toolSource:  "curl is a dependency of the couchdb Debian package the image installs (apache/couchdb-pkg debian/control: Depends: adduser, curl, ...)",
	bindingTool: "sh",
	bindingRuns: "curl",
}, {
	file:  "services/op-neo4j5.yml",
	image: "neo4j:5.26-community",
	ports: []string{"7687/tcp", "7474/tcp"},
	env: map[string]string{
		// The entrypoint (neo4j/docker-neo4j docker-image-src/5/coredb/docker-entrypoint.sh)
		// reads neo4j/<password> from this file, and turns NEO4J_<setting> into neo4j.conf.
		"NEO4J_AUTH_PATH":                        "/data/docker-broker.auth",
		"NEO4J_server_memory_heap_max__size":     "512m",
		"NEO4J_server_memory_heap_initial__size": "512m",
		"NEO4J_server_memory_pagecache_size":     "256m",
	},
	// The password alone, for the health check's cypher-shell.
	secretFiles: []string{"ADMIN_PASSWORD_FILE"},
	notEnv:      []string{"NEO4J_AUTH"},
	volumes:     []string{"/data"},
	files:       map[string]string{"/data/docker-broker.auth": "neo4j/{password}"},
	// The entrypoint requires the file readable by the user it runs Neo4j as: the container's
	// user neo4j, who owns it. The image's Dockerfile: addgroup --gid 7474 --system neo4j &&
	// adduser --uid 7474 --system --no-create-home --home /var/lib/neo4j --ingroup neo4j neo4j.
	user:        "neo4j",
	passwd:      "neo4j:x:7474:7474::/var/lib/neo4j:/usr/sbin/nologin",
	healthTool:  "sh",
	healthRuns:  "cypher-shell",
	toolSource:  "cypher-shell is in the Neo4j distribution's bin/, on the image's PATH (the image's Dockerfile: ENV PATH=${NEO4J_HOME}/bin:$PATH; its docs: `docker exec --interactive --tty <container> cypher-shell`)",
	bindingTool: "sh",
	bindingRuns: "cypher-shell",
}, {
	file:  "services/op-elasticsearch9.yml",
	image: "elasticsearch:9.4.1",
	ports: []string{"9200/tcp"},
	// Settings as the image's documentation spells them where '.' cannot be in a variable's
	// name ("Configure Elasticsearch with Docker": ES_SETTING_, '_' for '.', '__' for '_').
	env: map[string]string{
		"ES_JAVA_OPTS":                                    "-Xms1g -Xmx1g",
		"ES_SETTING_DISCOVERY_TYPE":                       "single-node",
		"ES_SETTING_XPACK_SECURITY_ENABLED":               "true",
		"ES_SETTING_XPACK_SECURITY_HTTP_SSL_ENABLED":      "false",
		"ES_SETTING_XPACK_SECURITY_TRANSPORT_SSL_ENABLED": "false",
		"ES_SETTING_BOOTSTRAP_MEMORY__LOCK":               "true",
	},
	secretFiles: []string{"ELASTIC_PASSWORD_FILE"},
	notEnv:      []string{"ELASTIC_PASSWORD"},
	volumes:     []string{"/usr/share/elasticsearch/data"},
	ulimits: []dockerengine.Ulimit{
		{Name: "memlock", Soft: -1, Hard: -1},
		{Name: "nofile", Soft: 65535, Hard: 65535},
	},
	healthTool:  "sh",
	healthRuns:  "curl",
	toolSource:  "curl is in the image (the health check of the sample docker-compose.yml in Elastic's Docker documentation runs curl in the Elasticsearch container)",
	bindingTool: "sh",
	bindingRuns: "curl",
}, {
	file:  "services/op-seaweedfs.yml",
	image: "chrislusf/seaweedfs:3.99",
	ports: []string{"8333/tcp"},
	env: map[string]string{
		"ADMIN_ACCESS_KEY": "",
		"S3_BUCKET":        "",
	},
	// The image reads no key from its environment: the entrypoint of the offering writes the
	// gateway's identities file (-s3.config) from this secret file on the first start.
	secretFiles: []string{"ADMIN_SECRET_KEY_FILE"},
	volumes:     []string{"/data"},
	// A shell, which runs the image's entrypoint (seaweedfs docker/entrypoint.sh: `server`
	// adds -dir=/data) after it wrote the identities file.
	entrypoint:  []string{"sh", "-ec"},
	cmdRuns:     "exec /entrypoint.sh server -s3 -s3.port=8333 -s3.config=",
	healthTool:  "wget",
	toolSource:  "BusyBox's wget, in the Alpine base of the image (seaweedfs docker/Dockerfile.go_build: FROM alpine)",
	bindingTool: "sh",
	bindingRuns: "kill -HUP 1",
}, {
	file:  "services/op-influxdb2.yml",
	image: "influxdb:2.7",
	ports: []string{"8086/tcp"},
	env: map[string]string{
		"DOCKER_INFLUXDB_INIT_MODE":     "setup",
		"DOCKER_INFLUXDB_INIT_USERNAME": "",
		"DOCKER_INFLUXDB_INIT_ORG":      "cf",
		"DOCKER_INFLUXDB_INIT_BUCKET":   "",
		// The operator's API token is the instance's password: the same secret file.
		"DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE": "/run/secrets/password",
	},
	// The entrypoint reads DOCKER_INFLUXDB_INIT_PASSWORD_FILE and
	// DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE as root, before it drops to user influxdb.
	secretFiles: []string{"DOCKER_INFLUXDB_INIT_PASSWORD_FILE", "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE"},
	notEnv:      []string{"DOCKER_INFLUXDB_INIT_PASSWORD", "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"},
	volumes:     []string{"/var/lib/influxdb2", "/etc/influxdb2"},
	healthTool:  "influx",
	toolSource:  "the influx CLI ships in the image (its entrypoint runs `influx ping` and `influx setup`; the image's docs: `docker exec influxdb2 influx ...`)",
}, {
	// postgres:17's contract (pgvector/pgvector:pg17 is FROM postgres:17 with the extension
	// installed): the stand-in-tested op-postgresql17.yml plus the extension's creation.
	file:  "services/op-pgvector.yml",
	image: "pgvector/pgvector:pg17",
	ports: []string{"5432/tcp"},
	env: map[string]string{
		"POSTGRES_USER": "",
		"POSTGRES_DB":   "",
	},
	secretFiles: []string{"POSTGRES_PASSWORD_FILE"},
	notEnv:      []string{"POSTGRES_PASSWORD"},
	volumes:     []string{"/var/lib/postgresql/data"},
	cmd:         []string{"postgres", "-c"},
	healthTool:  "pg_isready",
	toolSource:  "pg_isready is in the PostgreSQL server's bin/ on postgres:17's PATH",
	// The extension is not trusted: the admin creates it, in the binding's create command.
	bindingTool: "sh",
	bindingRuns: "CREATE EXTENSION IF NOT EXISTS vector",
}}

// offeringsCatalog is the catalog made of services files as `bosh deploy -o` interpolates
// them.
func offeringsCatalog(t *testing.T, files ...string) *catalog.Catalog {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, f))
	}
	raw, err := boshrelease.ServicesOf(paths)
	if err != nil {
		t.Fatal(err)
	}
	cat, warnings, err := catalog.Parse(raw)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("%s: %v %q", files, err, warnings)
	}
	return cat
}

// fastHealthChecks makes the health checks of cat fit the fake engine: quick, and a TCP check
// (which dials the container's address) replaced by a command that passes.
func fastHealthChecks(cat *catalog.Catalog) {
	for i := range cat.Services {
		for j := range cat.Services[i].Plans {
			hc := &cat.Services[i].Plans[j].HealthCheck
			hc.Interval = config.Duration(5 * time.Millisecond)
			hc.Timeout = config.Duration(5 * time.Second)
			hc.Hold = config.Duration(20 * time.Millisecond)
			if hc.TCPPort != "" {
				hc.TCPPort, hc.Command = "", []string{"true"}
			}
		}
	}
}

// TestEveryOfferingWithoutStandInBuildsTheContainerItsImageDocuments provisions the first
// plan of each offering on the fake engine and checks the container spec against the image's
// contract; then binds once and checks that the binding's command gets its secrets in the
// environment only.
func TestEveryOfferingWithoutStandInBuildsTheContainerItsImageDocuments(t *testing.T) {
	for _, want := range imageContracts {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(want.file), "op-"), ".yml"), func(t *testing.T) {
			cat := offeringsCatalog(t, want.file)
			if len(cat.Services) != 1 || len(cat.Services[0].Plans) < 2 {
				t.Fatalf("want one service of several plans, got %+v", cat.Services)
			}
			svc := cat.Services[0]
			checkPlans(t, svc, want.image)
			p := svc.Plans[0]
			health := p.HealthCheck
			fastHealthChecks(cat)
			e := newEnv(t, func(c *Config, engine *fakeEngine) {
				c.Catalog = cat
				engine.addImage(want.image, want.ports...)
				if want.passwd != "" {
					engine.passwd = append(engine.passwd, want.passwd+"\n"...)
				}
			})
			inst := e.mustProvision("i1", svc.ID, p.ID, "")
			c := e.container("i1")
			spec := c.Spec
			secrets := []string{inst.Credentials.Password}

			if spec.Image != want.image || spec.User != want.user {
				t.Errorf("image %q, user %q, want %q, %q", spec.Image, spec.User, want.image, want.user)
			}
			for key, value := range want.env {
				value = strings.ReplaceAll(value, "{host}", externalHost)
				for _, port := range want.ports {
					value = strings.ReplaceAll(value, "{port "+port+"}", inst.Ports[port])
				}
				got, n := envOf(c, key)
				switch {
				case n != 1:
					t.Errorf("%s set %d times, want once", key, n)
				case value == "" && got == "":
					t.Errorf("%s is empty", key)
				case value != "" && got != value:
					t.Errorf("%s=%q, want %q", key, got, value)
				}
			}
			for _, key := range want.secretFiles {
				if got, n := envOf(c, key); n != 1 || !strings.HasPrefix(got, "/run/secrets/") {
					t.Errorf("%s=%q (%d times), want a file under /run/secrets", key, got, n)
				}
			}
			for _, key := range want.notEnv {
				if _, n := envOf(c, key); n > 0 {
					t.Errorf("%s is in the environment", key)
				}
			}
			for _, kv := range spec.Env {
				for _, s := range secrets {
					if s != "" && strings.Contains(kv, s) {
						t.Errorf("a secret is in the environment: %s", strings.SplitN(kv, "=", 2)[0])
					}
				}
			}
			for _, arg := range append(slices.Clone(spec.Cmd), spec.Entrypoint...) {
				for _, s := range secrets {
					if s != "" && strings.Contains(arg, s) {
						t.Error("a secret is in the command")
					}
				}
			}
			for _, dir := range want.volumes {
				if !slices.ContainsFunc(spec.Binds, func(b string) bool { return strings.Split(b, ":")[1] == dir }) {
					t.Errorf("no persistent volume at %s: %q", dir, spec.Binds)
				}
			}
			for path, line := range want.files {
				if strings.Contains(line, "{password}") && inst.Credentials.Password == "" {
					t.Errorf("file %s should hold the password, but the instance has none", path)
				}
				checkVolumeFile(t, e, want.volumes, path, strings.ReplaceAll(line, "{password}", inst.Credentials.Password), inst.Credentials.Password)
			}
			for _, port := range want.ports {
				if !slices.ContainsFunc(spec.Ports, func(m dockerengine.PortMapping) bool { return m.ContainerPort == port }) {
					t.Errorf("port %s not published: %+v", port, spec.Ports)
				}
				hostPort(t, inst, port)
			}
			for _, u := range want.ulimits {
				if !slices.Contains(spec.Ulimits, u) {
					t.Errorf("ulimit %+v missing: %+v", u, spec.Ulimits)
				}
			}
			if want.cmd == nil && spec.Cmd != nil || len(spec.Cmd) < len(want.cmd) || !slices.Equal(spec.Cmd[:len(want.cmd)], want.cmd) {
				t.Errorf("command %q, want it to start with %q", spec.Cmd, want.cmd)
			}
			if want.entrypoint == nil && spec.Entrypoint != nil || len(spec.Entrypoint) < len(want.entrypoint) || !slices.Equal(spec.Entrypoint[:len(want.entrypoint)], want.entrypoint) {
				t.Errorf("entrypoint %q, want it to start with %q", spec.Entrypoint, want.entrypoint)
			}
			if start := append(slices.Clone(spec.Entrypoint), spec.Cmd...); want.cmdRuns != "" && !strings.Contains(strings.Join(start, " "), want.cmdRuns) {
				t.Errorf("entrypoint and command %q do not run %q", start, want.cmdRuns)
			}
			if spec.Memory == 0 {
				t.Error("no memory limit")
			}
			check := health.Command
			if len(check) > 0 && check[0] == "env" {
				check = check[1:]
				for len(check) > 0 && strings.Contains(check[0], "=") {
					check = check[1:]
				}
			}
			switch {
			case want.healthTool == "" && (health.TCPPort != want.healthPort || want.healthPort == ""):
				t.Errorf("health check on port %q, want %q", health.TCPPort, want.healthPort)
			case want.healthTool != "" && (len(check) == 0 || check[0] != want.healthTool):
				t.Errorf("health check %q, want one run by %s (%s)", health.Command, want.healthTool, want.toolSource)
			case want.healthRuns != "" && !strings.Contains(strings.Join(check, " "), want.healthRuns):
				t.Errorf("health check %q does not run %s", health.Command, want.healthRuns)
			}

			// One binding: its command is the engine's tool, its secrets in the exec's env only.
			e.engine.mu.Lock()
			execs := len(e.engine.execs)
			e.engine.mu.Unlock()
			resp, err := e.b.Bind(context.Background(), osbapi.BindRequest{InstanceID: "i1", BindingID: "b1", ServiceID: svc.ID, PlanID: p.ID, AppGUID: "app"})
			if err != nil {
				t.Fatal(err)
			}
			if want.bindingTool == "" {
				// No users: the binding is the instance's address.
				var creds struct{ Port string }
				if err := json.Unmarshal(resp.Credentials, &creds); err != nil || creds.Port != inst.Ports[want.ports[0]] {
					t.Errorf("binding credentials %s (%v), want the host port of %s", resp.Credentials, err, want.ports[0])
				}
				return
			}
			var creds struct{ Username, Password string }
			if err := json.Unmarshal(resp.Credentials, &creds); err != nil || creds.Password == "" || creds.Username == "" {
				t.Fatalf("binding credentials %s: %v", resp.Credentials, err)
			}
			e.engine.mu.Lock()
			created := slices.Clone(e.engine.execs[execs:])
			e.engine.mu.Unlock()
			i := slices.IndexFunc(created, func(x dockerengine.Exec) bool { return slices.Contains(x.Env, "BINDING_PASSWORD="+creds.Password) })
			if i < 0 {
				t.Fatalf("no exec with the binding's password in its env: %+v", created)
			}
			x := created[i]
			if x.Cmd[0] != want.bindingTool || !strings.Contains(strings.Join(x.Cmd, " "), want.bindingRuns) {
				t.Errorf("binding command %q, want %s running %s", x.Cmd, want.bindingTool, want.bindingRuns)
			}
			for _, key := range []string{"BINDING_USERNAME", "INSTANCE_USERNAME", "INSTANCE_PASSWORD", "INSTANCE_DBNAME"} {
				if !slices.ContainsFunc(x.Env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") }) {
					t.Errorf("binding command without %s in its env", key)
				}
			}
			for _, arg := range x.Cmd {
				for _, s := range append(secrets, creds.Password) {
					if strings.Contains(arg, s) {
						t.Error("a secret is in the binding command's arguments")
					}
				}
			}
		})
	}
}

// checkPlans checks what every plan of an offering needs to show well in `cf marketplace -e`
// and to be upgraded: the pinned image, a memory limit and a quota, maintenance_info naming the
// image, a display name and bullets.
func checkPlans(t *testing.T, svc catalog.Service, image string) {
	t.Helper()
	if len(svc.Tags) == 0 || svc.Metadata["displayName"] == nil || svc.Metadata["longDescription"] == nil || svc.Metadata["documentationUrl"] == nil {
		t.Errorf("service %s: tags %q, metadata %v", svc.Name, svc.Tags, svc.Metadata)
	}
	ref, tag, _ := strings.Cut(image, ":")
	for _, p := range svc.Plans {
		if p.Container.Image != ref || p.Container.Tag != tag {
			t.Errorf("plan %s: image %s:%s, want %s", p.Name, p.Container.Image, p.Container.Tag, image)
		}
		if p.Container.Memory == 0 || p.MaxContainers == 0 {
			t.Errorf("plan %s: memory %d, max_containers %d", p.Name, p.Container.Memory, p.MaxContainers)
		}
		if p.MaintenanceInfo == nil || p.MaintenanceInfo.Version != "1.0.0" || !strings.Contains(p.MaintenanceInfo.Description, image) {
			t.Errorf("plan %s: maintenance_info %+v, want 1.0.0 naming %s", p.Name, p.MaintenanceInfo, image)
		}
		if p.Metadata["displayName"] == nil || p.Metadata["bullets"] == nil {
			t.Errorf("plan %s: metadata %v", p.Name, p.Metadata)
		}
	}
}

// checkVolumeFile checks that the file at path (in the container, inside one of volumes) holds
// the line, and that it is private (0600) when it holds the secret.
func checkVolumeFile(t *testing.T, e *env, volumes []string, path, line, secret string) {
	t.Helper()
	i := slices.IndexFunc(volumes, func(vol string) bool { return strings.HasPrefix(path, vol+"/") })
	if i < 0 {
		t.Errorf("file %s is in none of the volumes %q", path, volumes)
		return
	}
	hostPath := filepath.Join(e.b.volumeDir("i1", volumes[i]), strings.TrimPrefix(path, volumes[i]))
	info, err := os.Stat(hostPath)
	if err != nil {
		t.Errorf("file %s: %v", path, err)
		return
	}
	data, err := os.ReadFile(hostPath)
	switch {
	case err != nil:
		t.Errorf("file %s: %v", path, err)
	case !slices.Contains(strings.Split(string(data), "\n"), line):
		t.Errorf("file %s has no line %q:\n%s", path, line, data)
	case strings.Contains(string(data), secret) && info.Mode().Perm() != 0o600:
		t.Errorf("file %s holds the password with mode %v, want 0600", path, info.Mode().Perm())
	}
}
