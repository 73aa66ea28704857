package catalog

import (
	"cmp"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// baseCatalog is a valid catalog of two services that the tests below spoil one field at a time.
const baseCatalog = `[
  {"id": "svc-a", "name": "svc-a", "description": "A",
   "plans": [{"id": "plan-a", "name": "free", "description": "Free",
     "container": {"backend": "docker", "image": "example/redis", "expose_ports": ["6379/tcp"]},
     "credentials": {"password": {"key": "REDIS_PASSWORD"}, "uri": {"prefix": "redis", "port": "6379/tcp"}}}]},
  {"id": "svc-b", "name": "svc-b", "description": "B",
   "plans": [{"id": "plan-b", "name": "free", "description": "Free",
     "container": {"backend": "docker", "image": "example/postgres"}}]}
]`

// remove, as the value of an edit, deletes the key.
type removeKey struct{}

var remove removeKey

// edited returns baseCatalog with edits applied: each key is a dotted path ("0.plans.0.id"),
// where a number indexes a list (one past its end appends).
func edited(t *testing.T, edits map[string]any) json.RawMessage {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(baseCatalog), &doc); err != nil {
		t.Fatal(err)
	}
	// A parent is set before its children, so that an edit can replace an object and the next
	// one change a field of it.
	paths := slices.SortedFunc(maps.Keys(edits), func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(a, "."), strings.Count(b, ".")), strings.Compare(a, b))
	})
	for _, path := range paths {
		doc = setPath(t, doc, strings.Split(path, "."), edits[path])
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func setPath(t *testing.T, node any, path []string, value any) any {
	t.Helper()
	key := path[0]
	switch n := node.(type) {
	case json.RawMessage:
		var decoded any
		if err := json.Unmarshal(n, &decoded); err != nil {
			t.Fatal(err)
		}
		return setPath(t, decoded, path, value)
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i > len(n) {
			t.Fatalf("bad index %q", key)
		}
		if i == len(n) {
			n = append(n, map[string]any{})
		}
		if len(path) == 1 {
			n[i] = value
		} else {
			n[i] = setPath(t, n[i], path[1:], value)
		}
		return n
	case map[string]any:
		switch {
		case len(path) > 1:
			child, ok := n[key]
			if !ok {
				child = map[string]any{}
			}
			n[key] = setPath(t, child, path[1:], value)
		case value == remove:
			delete(n, key)
		default:
			n[key] = value
		}
		return n
	}
	t.Fatalf("cannot set %q in %T", key, node)
	return nil
}

func mustParse(t *testing.T, raw json.RawMessage) (*Catalog, []string) {
	t.Helper()
	c, warnings, err := Parse(raw)
	if err != nil {
		t.Fatalf("valid catalog refused:\n%v", err)
	}
	return c, warnings
}

func TestBaseCatalogIsValid(t *testing.T) {
	c, warnings := mustParse(t, json.RawMessage(baseCatalog))
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if len(c.Services) != 2 {
		t.Fatalf("%d services", len(c.Services))
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	c, _ := mustParse(t, json.RawMessage(baseCatalog))
	s := c.Services[1]
	p := s.Plans[0]
	switch {
	case !s.Bindable || s.PlanUpdateable || !p.Free || p.Bindable != nil || p.PlanUpdateable != nil:
		t.Errorf("service %+v plan %+v: want bindable, free, not plan_updateable, no overrides", s, p)
	case p.Container.Tag != "latest" || p.Container.ImageRef() != "example/postgres:latest":
		t.Errorf("image %q", p.Container.ImageRef())
	case p.Container.Restart != RestartPolicy{Name: "always"}:
		t.Errorf("restart %+v", p.Container.Restart)
	case p.SyslogDrainProtocol != "syslog" || p.SyslogDrainPort != "" || p.MaxContainers != 0:
		t.Errorf("syslog drain %q %q, max_containers %d", p.SyslogDrainPort, p.SyslogDrainProtocol, p.MaxContainers)
	case p.HealthCheck.Timeout.D() != 120*time.Second || p.HealthCheck.Interval.D() != time.Second:
		t.Errorf("health check %+v", p.HealthCheck)
	case s.DashboardClient != nil || p.MaintenanceInfo != nil || p.Schemas != nil:
		t.Error("absent optional objects must stay nil")
	}
}

func TestParseNormalises(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{
		"0.plans.0.max_containers":               "8",
		"0.plans.0.maximum_polling_duration":     3600,
		"0.plans.0.container.tag":                "7.2",
		"0.plans.0.container.memory":             "1G",
		"0.plans.0.container.memory_swap":        -1,
		"0.plans.0.container.cpu_shares":         "512",
		"0.plans.0.container.restart":            "on-failure:5",
		"0.plans.0.container.expose_ports":       []any{"6379", 16379, "53/UDP"},
		"0.plans.0.container.persistent_volumes": []any{"/data/", "//var/lib/x"},
		"0.plans.0.container.environment":        []any{"URL=postgres://u:p@h/db?sslmode=require", "EMPTY="},
		"0.plans.0.container.command":            []any{"redis-server", "--save 900 1"},
		"0.plans.0.container.entrypoint":         `/bin/sh -c "exec \"$0\" \"$@\""`,
		"0.plans.0.health_check":                 map[string]any{"command": "redis-cli ping", "timeout": "30s", "interval": "500ms"},
		"0.plans.0.credentials.uri.port":         6379,
	}))
	p := c.Services[0].Plans[0]
	k := p.Container
	if p.MaxContainers != 8 || p.MaximumPollingDuration != 3600 {
		t.Errorf("max_containers %d, maximum_polling_duration %d", p.MaxContainers, p.MaximumPollingDuration)
	}
	if k.Memory != 1<<30 || k.MemorySwap != -1 || k.CPUShares != 512 {
		t.Errorf("memory %d, swap %d, cpu shares %d", k.Memory, k.MemorySwap, k.CPUShares)
	}
	if k.Restart != (RestartPolicy{Name: "on-failure", MaxRetries: 5}) || k.ImageRef() != "example/redis:7.2" {
		t.Errorf("restart %+v, image %s", k.Restart, k.ImageRef())
	}
	if want := []string{"6379/tcp", "16379/tcp", "53/udp"}; !slices.Equal(k.ExposePorts, want) {
		t.Errorf("ports %q, want %q", k.ExposePorts, want)
	}
	if want := []string{"/data", "/var/lib/x"}; !slices.Equal(k.PersistentVolumes, want) {
		t.Errorf("volumes %q, want %q", k.PersistentVolumes, want)
	}
	if k.Environment[0] != "URL=postgres://u:p@h/db?sslmode=require" || environmentKey(k.Environment[0]) != "URL" {
		t.Errorf("environment %q", k.Environment)
	}
	if want := []string{"redis-server", "--save 900 1"}; !slices.Equal(k.Command, want) {
		t.Errorf("a command list is taken as it is: %q", k.Command)
	}
	if want := []string{"/bin/sh", "-c", `exec "$0" "$@"`}; !slices.Equal(k.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", k.Entrypoint, want)
	}
	h := p.HealthCheck
	if !slices.Equal(h.Command, []string{"redis-cli", "ping"}) || h.Timeout.D() != 30*time.Second || h.Interval.D() != 500*time.Millisecond {
		t.Errorf("health check %+v", h)
	}
	if p.Credentials.URI.Port != "6379/tcp" {
		t.Errorf("uri.port %q", p.Credentials.URI.Port)
	}
}

func TestParseReportsEachProblemWithItsPath(t *testing.T) {
	const plan = "services[0].plans[0]"
	const container = plan + ".container"
	const parameters = plan + ".schemas.service_instance.create.parameters"
	schemaWith := func(properties map[string]any) map[string]any {
		return map[string]any{"service_instance": map[string]any{"create": map[string]any{"parameters": map[string]any{
			"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": properties,
		}}}}
	}
	tests := []struct {
		name     string
		edits    map[string]any
		path     string
		fragment string
	}{
		{"memory unit", map[string]any{"0.plans.0.container.memory": "1x"}, container + ".memory", `"1x": unknown unit, use b, k, m or g`},
		{"memory fraction", map[string]any{"0.plans.0.container.memory": "1.5g"}, container + ".memory", "whole number"},
		{"memory below Docker's minimum", map[string]any{"0.plans.0.container.memory": "1m"}, container + ".memory", "less than 6m"},
		{"memory as a boolean", map[string]any{"0.plans.0.container.memory": true}, container + ".memory", "expected a number, found a boolean"},
		{"swap below memory", map[string]any{"0.plans.0.container.memory": "128m", "0.plans.0.container.memory_swap": "64m"}, container + ".memory_swap", "less than container.memory"},
		{"swap without memory", map[string]any{"0.plans.0.container.memory_swap": "64m"}, container + ".memory_swap", "needs container.memory"},
		{"negative cpu shares", map[string]any{"0.plans.0.container.cpu_shares": -1}, container + ".cpu_shares", "negative"},
		{"restart policy", map[string]any{"0.plans.0.container.restart": "sometimes"}, container + ".restart", `"sometimes": unknown restart policy`},
		{"restart retries", map[string]any{"0.plans.0.container.restart": "on-failure:x"}, container + ".restart", "retry count"},
		{"retries on always", map[string]any{"0.plans.0.container.restart": "always:3"}, container + ".restart", "only on-failure takes a retry count"},
		{"port out of range", map[string]any{"0.plans.0.container.expose_ports": []any{"70000/tcp"}}, container + ".expose_ports[0]", "1 to 65535"},
		{"port protocol", map[string]any{"0.plans.0.container.expose_ports": []any{"80/icmp"}}, container + ".expose_ports[0]", `unknown protocol "icmp"`},
		{"port twice", map[string]any{"0.plans.0.container.expose_ports": []any{"6379", "6379/tcp"}}, container + ".expose_ports[1]", "listed twice"},
		{"environment without =", map[string]any{"0.plans.0.container.environment": []any{"NOEQUALS"}}, container + ".environment[0]", `"NOEQUALS": not KEY=VALUE`},
		{"environment name", map[string]any{"0.plans.0.container.environment": []any{"1A=b"}}, container + ".environment[0]", "not a variable name"},
		{"environment item not a string", map[string]any{"0.plans.0.container.environment": []any{"A=1", 5, "NOEQUALS"}}, container + ".environment[1]", "expected a string, found the number 5"},
		{"environment item after a bad one", map[string]any{"0.plans.0.container.environment": []any{"A=1", 5, "NOEQUALS"}}, container + ".environment[2]", "not KEY=VALUE"},
		{"environment twice", map[string]any{"0.plans.0.container.environment": []any{"A=1", "A=2"}}, container + ".environment[1]", "already set by " + container + ".environment[0]"},
		{"environment sets a credential", map[string]any{"0.plans.0.container.environment": []any{"REDIS_PASSWORD=x"}}, container + ".environment[0]", "credentials.password.key"},
		{"relative volume", map[string]any{"0.plans.0.container.persistent_volumes": []any{"data"}}, container + ".persistent_volumes[0]", "must be an absolute path"},
		{"volume escaping", map[string]any{"0.plans.0.container.persistent_volumes": []any{"/data/../etc"}}, container + ".persistent_volumes[0]", "must not contain .."},
		{"volume twice", map[string]any{"0.plans.0.container.persistent_volumes": []any{"/data", "/data/"}}, container + ".persistent_volumes[1]", "listed twice"},
		{"root volume", map[string]any{"0.plans.0.container.persistent_volumes": []any{"/"}}, container + ".persistent_volumes[0]", "root"},
		{"missing image", map[string]any{"0.plans.0.container.image": remove}, container + ".image", "required"},
		{"image with a tag", map[string]any{"0.plans.0.container.image": "example/redis:7"}, container + ".image", "carries a tag"},
		{"bad tag", map[string]any{"0.plans.0.container.tag": "7 2"}, container + ".tag", "not a Docker tag"},
		{"unquoted tag", map[string]any{"0.plans.0.container.tag": 9.6}, container + ".tag", "quote it"},
		{"missing backend", map[string]any{"0.plans.0.container.backend": remove}, container + ".backend", "required"},
		{"other backend", map[string]any{"0.plans.0.container.backend": "garden"}, container + ".backend", "the only one is docker"},
		{"relative workdir", map[string]any{"0.plans.0.container.workdir": "src"}, container + ".workdir", "absolute"},
		{"unterminated quote", map[string]any{"0.plans.0.container.command": "--save '900 1"}, container + ".command", "never closed"},
		{"entrypoint as a number", map[string]any{"0.plans.0.container.entrypoint": 42}, container + ".entrypoint", "expected a string"},
		{"capability", map[string]any{"0.plans.0.container.cap_adds": []any{"NET ADMIN"}}, container + ".cap_adds[0]", "not a capability"},
		{"privileged as a string", map[string]any{"0.plans.0.container.privileged": "true"}, container + ".privileged", "expected true or false"},
		{"ulimit name", map[string]any{"0.plans.0.container.ulimits": map[string]any{"openfiles": 1024}}, container + ".ulimits.openfiles", "unknown limit, Docker's are core"},
		{"ulimit soft above hard", map[string]any{"0.plans.0.container.ulimits": map[string]any{"nofile": map[string]any{"soft": 2048, "hard": 1024}}}, container + ".ulimits.nofile", "soft 2048 is above hard 1024"},
		{"ulimit soft unlimited below hard", map[string]any{"0.plans.0.container.ulimits": map[string]any{"memlock": map[string]any{"soft": -1, "hard": 1024}}}, container + ".ulimits.memlock", "soft -1 (unlimited) is above hard 1024"},
		{"ulimit nofile unlimited", map[string]any{"0.plans.0.container.ulimits": map[string]any{"nofile": -1}}, container + ".ulimits.nofile", "refuses an unlimited nofile"},
		{"ulimit below -1", map[string]any{"0.plans.0.container.ulimits": map[string]any{"core": -2}}, container + ".ulimits.core", "from 0 up, or -1 for unlimited"},
		{"ulimit without hard", map[string]any{"0.plans.0.container.ulimits": map[string]any{"nproc": map[string]any{"soft": 10}}}, container + ".ulimits.nproc.hard", "required"},
		{"ulimit in words", map[string]any{"0.plans.0.container.ulimits": map[string]any{"nproc": "lots"}}, container + ".ulimits.nproc", "expected a whole number"},
		{"ulimit soft in words", map[string]any{"0.plans.0.container.ulimits": map[string]any{"nproc": map[string]any{"soft": "x", "hard": 1}}}, container + ".ulimits.nproc.soft", "expected a whole number"},
		{"ulimits as a list", map[string]any{"0.plans.0.container.ulimits": []any{"nofile=1024"}}, container + ".ulimits", "expected an object"},
		{"sysctl of the host", map[string]any{"0.plans.0.container.sysctls": map[string]any{"vm.max_map_count": 262144}}, container + ".sysctls.vm.max_map_count", "vm.max_map_count is not in a namespace of the container"},
		{"sysctl of the host's kernel", map[string]any{"0.plans.0.container.sysctls": map[string]any{"kernel.pid_max": "4194304"}}, container + ".sysctls.kernel.pid_max", "not in a namespace"},
		{"sysctl name", map[string]any{"0.plans.0.container.sysctls": map[string]any{"net..somaxconn": "1"}}, container + ".sysctls.net..somaxconn", "not a kernel parameter"},
		{"sysctl empty", map[string]any{"0.plans.0.container.sysctls": map[string]any{"net.core.somaxconn": " "}}, container + ".sysctls.net.core.somaxconn", "not empty"},
		{"sysctl as a boolean", map[string]any{"0.plans.0.container.sysctls": map[string]any{"net.ipv4.tcp_syncookies": true}}, container + ".sysctls.net.ipv4.tcp_syncookies", "expected a string"},
		{"shm size zero", map[string]any{"0.plans.0.container.shm_size": 0}, container + ".shm_size", "more than 0"},
		{"shm size unit", map[string]any{"0.plans.0.container.shm_size": "1t"}, container + ".shm_size", "unknown unit"},
		{"environment template of a secret", map[string]any{"0.plans.0.container.environment": []any{"A=x", "PASS={{.Password}}"}}, container + ".environment[1]", "can't evaluate field Password"},
		{"environment template of an unpublished port", map[string]any{"0.plans.0.container.environment": []any{`URL={{.ExternalHost}}:{{.HostPort "9092/tcp"}}`}}, container + ".environment[0]", "publishes no port 9092/tcp"},
		{"environment template without the port", map[string]any{"0.plans.0.container.environment": []any{"PORT={{.HostPort}}"}}, container + ".environment[0]", "wrong number of args for HostPort"},
		{"environment template of a bad port", map[string]any{"0.plans.0.container.environment": []any{`PORT={{.HostPort "x"}}`}}, container + ".environment[0]", "the port must be a number"},
		{"environment template unclosed", map[string]any{"0.plans.0.container.environment": []any{"HOST={{.ExternalHost"}}, container + ".environment[0]", "unclosed action"},
		{"files without volumes", map[string]any{"1.plans.0.container.files": []any{map[string]any{"path": "/data/x", "content": ""}}}, "services[1].plans[0].container.files", "needs container.persistent_volumes"},
		{"file outside the volumes", withFiles(map[string]any{"path": "/etc/passwd", "content": "x"}), container + ".files[0].path", "/etc/passwd is in none of container.persistent_volumes (/data)"},
		{"file path relative", withFiles(map[string]any{"path": "data/x", "content": "x"}), container + ".files[0].path", "absolute"},
		{"file path escaping", withFiles(map[string]any{"path": "/data/../etc/x", "content": "x"}), container + ".files[0].path", "must not contain .."},
		{"file path is the volume", withFiles(map[string]any{"path": "/data/", "content": "x"}), container + ".files[0].path", "/data is a persistent volume"},
		{"file path missing", withFiles(map[string]any{"content": "x"}), container + ".files[0].path", "required"},
		{"file twice", withFiles(map[string]any{"path": "/data/x", "content": "x"}, map[string]any{"path": "/data//x", "content": "y"}), container + ".files[1].path", "/data/x is already the path of " + container + ".files[0]"},
		{"file in a file", withFiles(map[string]any{"path": "/data/x", "content": "x"}, map[string]any{"path": "/data/x/y", "content": "y"}), container + ".files[1].path", "one would be the other's directory"},
		{"file mode as a number", withFiles(map[string]any{"path": "/data/x", "content": "x", "mode": 416}), container + ".files[0].mode", "quote it"},
		{"file mode not octal", withFiles(map[string]any{"path": "/data/x", "content": "x", "mode": "0800"}), container + ".files[0].mode", "not permission bits"},
		{"file mode with setuid", withFiles(map[string]any{"path": "/data/x", "content": "x", "mode": "4755"}), container + ".files[0].mode", "not permission bits"},
		{"file without content", withFiles(map[string]any{"path": "/data/x"}), container + ".files[0].content", "required"},
		{"file content template", withFiles(map[string]any{"path": "/data/x", "content": "user {{.Username}}\npass {{.Secret}}\n"}), container + ".files[0].content", "can't evaluate field Secret"},
		{"file uses a username the plan lacks", withFiles(map[string]any{"path": "/data/x", "content": "user {{.Username}}\n"}), container + ".files[0].content",
			"uses .Username but the plan has no username: add credentials.username with the key"},
		{"file uses a password the plan lacks", withoutPassword(withFiles(map[string]any{"path": "/data/x", "content": "{{if .InstanceID}}pass {{$.Password}}{{end}}"})), container + ".files[0].content",
			"uses .Password but the plan has no password: add credentials.password (`{}` generates one given to no variable)"},
		{"file uses a dbname the plan lacks in a template it defines", withFiles(map[string]any{"path": "/data/x", "content": `{{define "db"}}db {{.DBName}}{{end}}{{template "db" .}}`}), container + ".files[0].content",
			"uses .DBName but the plan has no dbname: add credentials.dbname"},
		{"environment uses a credential", map[string]any{"0.plans.0.container.environment": []any{"PASS={{.Password}}"}}, container + ".environment[0]", "can't evaluate field Password"},
		{"file once as a string", withFiles(map[string]any{"path": "/data/x", "content": "x", "once": "no"}), container + ".files[0].once", "expected true or false"},
		{"files as an object", map[string]any{"0.plans.0.container.persistent_volumes": []any{"/data"}, "0.plans.0.container.files": map[string]any{"path": "/data/x"}}, container + ".files", "expected a list"},
		{"bindings without drop", map[string]any{"0.plans.0.bindings": map[string]any{"create": "true"}}, plan + ".bindings.drop", "required"},
		{"bindings of a service without create", map[string]any{"0.bindings": map[string]any{"drop": "true"}}, "services[0].bindings.create", "required"},
		{"binding credential unknown", map[string]any{"0.plans.0.bindings": bindings("credentials", []any{"username", "token"})}, plan + ".bindings.credentials[1]", `"token": not a credential of a binding's own`},
		{"binding dbname the plan lacks", map[string]any{"0.plans.0.bindings": bindings("credentials", []any{"dbname"})}, plan + ".bindings.credentials[0]", "no dbname"},
		{"binding timeout", map[string]any{"0.plans.0.bindings": bindings("timeout", "0s")}, plan + ".bindings.timeout", "longer than zero"},
		{"extra credential replacing a standard one", map[string]any{"0.plans.0.bindings": bindings("extra_credentials", map[string]any{"port": "1"})}, plan + ".bindings.extra_credentials.port", "every binding has"},
		{"extra credential template", map[string]any{"0.plans.0.bindings": bindings("extra_credentials", map[string]any{"vhost": "{{.Vhost}}"})}, plan + ".bindings.extra_credentials.vhost", "not a template over"},
		{"extra credential uses a dbname the plan lacks", map[string]any{"0.plans.0.bindings": bindings("extra_credentials", map[string]any{"db": "{{.DBName}}"})}, plan + ".bindings.extra_credentials.db",
			"uses .DBName but the plan services[0].plans[0] has no dbname: add credentials.dbname"},
		{"extra credential of the service uses a dbname a plan lacks", map[string]any{"1.bindings": bindings("extra_credentials", map[string]any{"url": "db={{.DBName}}"})}, "services[1].bindings.extra_credentials.url",
			"uses .DBName but the plan services[1].plans[0] has no dbname"},
		{"backup without restore", map[string]any{"0.plans.0.backup": map[string]any{"dump": "pg_dumpall"}}, plan + ".backup.restore", "required: the command that reads that data back"},
		{"backup of a service without dump", map[string]any{"0.backup": map[string]any{"restore": "psql"}}, "services[0].backup.dump", "required: the command that writes"},
		{"backup with an empty dump", map[string]any{"0.plans.0.backup": map[string]any{"dump": []any{}, "restore": "psql"}}, plan + ".backup.dump", "empty"},
		{"backup timeout", map[string]any{"0.plans.0.backup": map[string]any{"dump": "d", "restore": "r", "timeout": "0s"}}, plan + ".backup.timeout", "longer than zero"},
		{"fixed value unsafe for binding commands", map[string]any{"0.plans.0.bindings": bindings("timeout", "5s"), "0.plans.0.credentials.username": map[string]any{"value": "ad'min"}}, plan + ".credentials.username.value", "only letters, digits and '_'"},
		{"secret file without key", map[string]any{"0.plans.0.credentials.password": map[string]any{"as_file": true}}, plan + ".credentials.password.as_file", "needs a key"},
		{"username without key or value", map[string]any{"0.plans.0.credentials.username": map[string]any{}}, plan + ".credentials.username", "gives the container nothing"},
		{"dbname without key or value", map[string]any{"0.plans.0.credentials.dbname": map[string]any{"key": ""}}, plan + ".credentials.dbname", "only a password may"},
		{"hostname", map[string]any{"0.plans.0.container.hostname": "rabbit_1"}, container + ".hostname", "not a host name"},
		{"missing container", map[string]any{"0.plans.0.container": remove}, plan + ".container", "required"},
		{"container as a string", map[string]any{"0.plans.0.container": "docker"}, plan + ".container", "expected an object"},
		{"uri port not exposed", map[string]any{"0.plans.0.credentials.uri.port": "5432/tcp"}, plan + ".credentials.uri.port", "uri.port 5432/tcp is not among container.expose_ports"},
		{"uri prefix", map[string]any{"0.plans.0.credentials.uri.prefix": "1redis"}, plan + ".credentials.uri.prefix", "not a URI scheme"},
		{"credential key", map[string]any{"0.plans.0.credentials.username": map[string]any{"key": "REDIS-USER"}}, plan + ".credentials.username.key", "not an environment variable name"},
		{"credential keys shared", map[string]any{"0.plans.0.credentials.username": map[string]any{"key": "REDIS_PASSWORD"}}, plan + ".credentials.password.key", "already the key of credentials.username"},
		{"syslog drain without requires", map[string]any{"1.plans.0.syslog_drain_port": "514"}, "services[1].plans[0].syslog_drain_port", "requires"},
		{"syslog drain not exposed", map[string]any{"0.requires": []any{"syslog_drain"}, "0.plans.0.syslog_drain_port": "514/tcp"}, plan + ".syslog_drain_port", "syslog_drain_port 514/tcp is not among container.expose_ports"},
		{"syslog drain protocol", map[string]any{"0.plans.0.syslog_drain_protocol": "tcp"}, plan + ".syslog_drain_protocol", "use syslog, syslog-tls or https"},
		{"unknown requirement", map[string]any{"0.requires": []any{"database"}}, "services[0].requires[0]", "unknown"},
		{"semver", map[string]any{"0.plans.0.maintenance_info": map[string]any{"version": "1.0"}}, plan + ".maintenance_info.version", "not a semantic version"},
		{"semver written as a number", map[string]any{"0.plans.0.maintenance_info": map[string]any{"version": 1.5}}, plan + ".maintenance_info.version", "quote it"},
		{"maintenance without version", map[string]any{"0.plans.0.maintenance_info": map[string]any{"description": "x"}}, plan + ".maintenance_info.version", "required"},
		{"max_containers text", map[string]any{"0.plans.0.max_containers": "eight"}, plan + ".max_containers", "whole number"},
		{"max_containers negative", map[string]any{"0.plans.0.max_containers": -1}, plan + ".max_containers", "from 0 up"},
		{"free as a string", map[string]any{"0.plans.0.free": "yes"}, plan + ".free", "expected true or false"},
		{"bindable as a string", map[string]any{"0.bindable": "true"}, "services[0].bindable", "expected true or false"},
		{"health check both ways", map[string]any{"0.plans.0.health_check": map[string]any{"tcp_port": "6379", "command": "true"}}, plan + ".health_check", "not both"},
		{"health check over udp", map[string]any{"0.plans.0.health_check": map[string]any{"tcp_port": "53/udp"}}, plan + ".health_check.tcp_port", "/tcp"},
		{"health check port not exposed", map[string]any{"0.plans.0.health_check": map[string]any{"tcp_port": "80"}}, plan + ".health_check.tcp_port", "is not among container.expose_ports"},
		{"health check timeout", map[string]any{"0.plans.0.health_check": map[string]any{"timeout": "soon"}}, plan + ".health_check.timeout", "not a duration"},
		{"health check interval", map[string]any{"0.plans.0.health_check": map[string]any{"interval": "5m"}}, plan + ".health_check.interval", "longer than the timeout"},
		{"dashboard without secret", map[string]any{"0.dashboard_client": map[string]any{"id": "x"}}, "services[0].dashboard_client", "needs both id and secret"},
		{"dashboard redirect", map[string]any{"0.dashboard_client": map[string]any{"id": "x", "secret": "y", "redirect_uri": "callback"}}, "services[0].dashboard_client.redirect_uri", "not an http(s) URL"},
		{"duplicate service id", map[string]any{"1.id": "svc-a"}, "services[1].id", `"svc-a" is already the id of services[0]`},
		{"plan id of a service", map[string]any{"1.plans.0.id": "svc-a"}, "services[1].plans[0].id", "already the id of services[0]"},
		{"duplicate plan id", map[string]any{"1.plans.0.id": "plan-a"}, "services[1].plans[0].id", "already the id of services[0].plans[0]"},
		{"duplicate service name", map[string]any{"1.name": "svc-a"}, "services[1].name", `"svc-a" is already the name of services[0]`},
		{"duplicate plan name", map[string]any{"0.plans.1": map[string]any{"id": "plan-a2", "name": "free", "description": "Again",
			"container": map[string]any{"backend": "docker", "image": "example/redis"}}}, "services[0].plans[1].name", "already the name of services[0].plans[0]"},
		{"sanity check without command", map[string]any{"0.plans.0.sanity_check": map[string]any{"image": "example/redis:7"}}, plan + ".sanity_check.command", "required: the client command"},
		{"sanity check of a service without command", map[string]any{"1.sanity_check": map[string]any{"command": []any{}}}, "services[1].sanity_check.command", "required"},
		{"sanity check image with blanks", map[string]any{"0.plans.0.sanity_check": map[string]any{"command": "true", "image": "example/redis 7"}}, plan + ".sanity_check.image", "no blanks"},
		{"sanity check timeout", map[string]any{"0.plans.0.sanity_check": map[string]any{"command": "true", "timeout": "0s"}}, plan + ".sanity_check.timeout", "longer than zero"},
		{"sanity check command unterminated", map[string]any{"0.plans.0.sanity_check": map[string]any{"command": "sh -c 'x"}}, plan + ".sanity_check.command", "never closed"},
		{"sanity check of a plan that cannot be bound", map[string]any{"0.plans.0.bindable": false, "0.plans.0.sanity_check": map[string]any{"command": "true"}}, plan, "has a sanity_check but cannot be bound"},
		{"missing id", map[string]any{"0.id": remove}, "services[0].id", "required"},
		{"empty description", map[string]any{"0.plans.0.description": " "}, plan + ".description", "required"},
		{"no plans", map[string]any{"0.plans": []any{}}, "services[0].plans", "at least one plan"},
		{"null service", map[string]any{"1": nil}, "services[1]", "expected an object"},
		{"metadata as a list", map[string]any{"0.metadata": []any{"x"}}, "services[0].metadata", "expected an object"},
		{"schema type unsupported", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"maxmemory": map[string]any{"type": "object"}})},
			parameters + ".properties.maxmemory.type", `"object": unsupported type`},
		{"schema property untyped", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"maxmemory": map[string]any{}})},
			parameters + ".properties.maxmemory.type", "required"},
		{"schema property not an env name", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"max-memory": map[string]any{"type": "string"}})},
			parameters + ".properties.max-memory", "not an environment variable name"},
		{"schema property is a credential", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"REDIS_PASSWORD": map[string]any{"type": "string"}})},
			parameters + ".properties.REDIS_PASSWORD", "set by credentials.password.key"},
		{"schema property is NAME", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"NAME": map[string]any{"type": "string"}})},
			parameters + ".properties.NAME", "set by the broker"},
		{"schema enum of another type", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"size": map[string]any{"type": "integer", "enum": []any{1, "two"}}})},
			parameters + ".properties.size.enum[1]", "not an integer"},
		{"schema pattern", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"size": map[string]any{"type": "string", "pattern": "("}})},
			parameters + ".properties.size.pattern", "not a regular expression"},
		{"schema minLength on a number", map[string]any{"0.plans.0.schemas": schemaWith(map[string]any{"size": map[string]any{"type": "number", "minLength": 1}})},
			parameters + ".properties.size.minLength", "applies to strings only"},
		{"schema required undeclared", map[string]any{"0.plans.0.schemas": schemaWith(nil), "0.plans.0.schemas.service_instance.create.parameters.required": []any{"size"}},
			parameters + ".required[0]", "not among the properties"},
		{"schema without $schema", map[string]any{"0.plans.0.schemas": schemaWith(nil), "0.plans.0.schemas.service_instance.create.parameters.$schema": remove},
			parameters + ".$schema", "required"},
		{"schema not an object", map[string]any{"0.plans.0.schemas": schemaWith(nil), "0.plans.0.schemas.service_instance.create.parameters.type": "array"},
			parameters + ".type", "type: object"},
		{"update schema checked too", map[string]any{"0.plans.0.schemas": map[string]any{"service_instance": map[string]any{"update": map[string]any{"parameters": map[string]any{"type": "object"}}}}},
			plan + ".schemas.service_instance.update.parameters.$schema", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(edited(t, tt.edits))
			if err == nil {
				t.Fatalf("accepted; want %s: ...%s...", tt.path, tt.fragment)
			}
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not a config.Errors: %v", err, err)
			}
			for _, e := range errs {
				if e.Path == tt.path && strings.Contains(e.Problem, tt.fragment) {
					return
				}
			}
			t.Errorf("want %s: ...%s...; got:\n%v", tt.path, tt.fragment, err)
		})
	}
}

// withoutPassword adds to edits the removal of services[0].plans[0]'s password.
func withoutPassword(edits map[string]any) map[string]any {
	edits["0.plans.0.credentials.password"] = remove
	return edits
}

// withFiles are the edits that give services[0].plans[0] the volume /data and these files.
func withFiles(files ...map[string]any) map[string]any {
	list := make([]any, len(files))
	for i, f := range files {
		list[i] = f
	}
	return map[string]any{"0.plans.0.container.persistent_volumes": []any{"/data"}, "0.plans.0.container.files": list}
}

func TestParseReportsAllProblemsAtOnce(t *testing.T) {
	_, _, err := Parse(edited(t, map[string]any{
		"0.plans.0.container.memory":  "1x",
		"0.plans.0.container.restart": "sometimes",
		"1.id":                        "svc-a",
		"1.plans.0.container.image":   remove,
	}))
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 4 {
		t.Fatalf("want 4 problems, got:\n%v", err)
	}
}

func TestParseRefusesWhatIsNotAList(t *testing.T) {
	_, _, err := Parse(json.RawMessage(`{"id": "svc-a"}`))
	if err == nil || !strings.HasPrefix(err.Error(), "services: expected a list, found an object") {
		t.Errorf("got %v", err)
	}
}

func TestEmptyCatalogIsAWarning(t *testing.T) {
	for _, raw := range []string{`[]`, `null`, ``} {
		c, warnings, err := Parse(json.RawMessage(raw))
		if err != nil || len(c.Services) != 0 || len(warnings) != 1 || !strings.Contains(warnings[0], "empty") {
			t.Errorf("%q: catalog %+v, warnings %q, error %v", raw, c, warnings, err)
		}
	}
}

func TestParseWarnsButLoads(t *testing.T) {
	_, warnings := mustParse(t, edited(t, map[string]any{
		"0.shareable":                        true,
		"0.plans.0.container.memroy":         "1g",
		"0.plans.0.credentials.uri.uri":      "redis",
		"0.plans.0.credentials.password.key": "REDIS_PASSWORD",
		"0.plans.0.credentials.dbname":       map[string]any{"key": "REDIS_DB", "value": "0"},
		"1.plans.0.credentials.password":     map[string]any{"key": "PG_PASSWORD", "value": "hunter2"},
		"1.name":                             "svc b",
		"0.dashboard_client":                 map[string]any{"id": "x", "secret": "y"},
	}))
	want := []string{
		"services[0].shareable: unknown key",
		"services[0].plans[0].container.memroy: unknown key, ignored (known here: backend, cap_adds",
		"services[0].plans[0].credentials.uri.uri: unknown key",
		"services[1].plans[0].credentials.password.value: a fixed password",
		"services[1].name: \"svc b\" is awkward",
		"services[0].dashboard_client: no redirect_uri",
	}
	for _, prefix := range want {
		if !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, prefix) }) {
			t.Errorf("no warning %q among:\n%s", prefix, strings.Join(warnings, "\n"))
		}
	}
	if len(warnings) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(warnings), len(want), strings.Join(warnings, "\n"))
	}
}

func TestSchemaKeywordsTheBrokerDoesNotEnforceAreWarnings(t *testing.T) {
	_, warnings := mustParse(t, edited(t, map[string]any{"0.plans.0.schemas": map[string]any{
		"service_instance": map[string]any{"create": map[string]any{"parameters": map[string]any{
			"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "title": "Redis",
			"additionalProperties": true,
			"properties": map[string]any{"maxmemory": map[string]any{
				"type": "string", "description": "shown to users", "default": "64mb", "format": "bytes",
			}},
		}}},
	}}))
	want := []string{
		"services[0].plans[0].schemas.service_instance.create.parameters.properties.maxmemory.format: not enforced by the broker",
		"services[0].plans[0].schemas.service_instance.create.parameters.additionalProperties: the broker refuses undeclared parameters",
	}
	if len(warnings) != len(want) || !strings.HasPrefix(warnings[0], want[0]) || !strings.HasPrefix(warnings[1], want[1]) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}

func TestLookups(t *testing.T) {
	c, _ := mustParse(t, json.RawMessage(baseCatalog))
	if s, p, ok := c.Plan("svc-b", "plan-b"); !ok || s.Name != "svc-b" || p.ID != "plan-b" {
		t.Error("Plan(svc-b, plan-b) not found")
	}
	if _, _, ok := c.Plan("svc-a", "plan-b"); ok {
		t.Error("Plan found a plan under the wrong service")
	}
	if s, _, ok := c.PlanByID("plan-a"); !ok || s.ID != "svc-a" {
		t.Error("PlanByID(plan-a) not found")
	}
	if _, _, ok := c.PlanByID("svc-a"); ok {
		t.Error("PlanByID found a service id")
	}
}

func TestPlanOverridesService(t *testing.T) {
	yes, no := true, false
	s := Service{Bindable: true, PlanUpdateable: false}
	for _, tt := range []struct {
		plan                 Plan
		bindable, updateable bool
	}{
		{Plan{}, true, false},
		{Plan{Bindable: &no, PlanUpdateable: &yes}, false, true},
		{Plan{Bindable: &yes, PlanUpdateable: &no}, true, false},
	} {
		if tt.plan.IsBindable(s) != tt.bindable || tt.plan.IsUpdateable(s) != tt.updateable {
			t.Errorf("plan %+v: bindable %v updateable %v", tt.plan, tt.plan.IsBindable(s), tt.plan.IsUpdateable(s))
		}
	}
}

// bindings is a valid `bindings` object with one key set.
func bindings(key string, value any) map[string]any {
	b := map[string]any{"create": []any{"sh", "-ec", "create"}, "drop": "drop-user"}
	b[key] = value
	return b
}

func TestBindingsOfTheServiceApplyToPlansWithoutTheirOwn(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{
		"0.bindings":         bindings("timeout", "5s"),
		"0.plans.1":          map[string]any{"id": "plan-a2", "name": "own", "description": "Own", "container": map[string]any{"backend": "docker", "image": "example/redis"}, "bindings": bindings("credentials", []any{"password"})},
		"0.plans.0.metadata": map[string]any{},
	}))
	inherited, own, none := c.Services[0].Plans[0].Bindings, c.Services[0].Plans[1].Bindings, c.Services[1].Plans[0].Bindings
	if inherited == nil || !slices.Equal(inherited.Create, []string{"sh", "-ec", "create"}) || !slices.Equal(inherited.Drop, []string{"drop-user"}) || inherited.Timeout.D() != 5*time.Second {
		t.Errorf("plan without bindings of its own: %+v, want the service's", inherited)
	}
	// The default fields follow the plan's credentials: plan-a has a password and a uri.
	if !slices.Equal(inherited.Credentials, []string{"username", "password", "uri"}) {
		t.Errorf("default binding credentials %q", inherited.Credentials)
	}
	if own == nil || !slices.Equal(own.Credentials, []string{"password"}) || own.Timeout.D() != time.Minute {
		t.Errorf("plan with bindings of its own: %+v, want its own with the default timeout", own)
	}
	if none != nil {
		t.Errorf("a service without bindings: %+v", none)
	}
	raw, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	var osb struct {
		Services []struct {
			Plans []map[string]any `json:"plans"`
		} `json:"services"`
	}
	if err := json.Unmarshal(raw, &osb); err != nil {
		t.Fatal(err)
	}
	if osb.Services[0].Plans[0]["binding_rotatable"] != true || osb.Services[1].Plans[0]["binding_rotatable"] != nil {
		t.Errorf("binding_rotatable: %v and %v, want true for a plan with bindings and absent without", osb.Services[0].Plans[0]["binding_rotatable"], osb.Services[1].Plans[0]["binding_rotatable"])
	}
	if strings.Contains(string(raw), "drop-user") || strings.Contains(string(raw), `"bindings":`) {
		t.Errorf("the OSB catalog shows the binding commands: %s", raw)
	}
}

func TestBackupOfTheServiceAppliesToPlansWithoutTheirOwn(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{
		"0.backup":  map[string]any{"dump": "redis-cli --rdb -", "restore": []any{"sh", "-ec", "load"}, "timeout": "10m"},
		"0.plans.1": map[string]any{"id": "plan-a2", "name": "own", "description": "Own", "container": map[string]any{"backend": "docker", "image": "example/redis"}, "backup": map[string]any{"dump": "own-dump", "restore": "own-restore"}},
	}))
	inherited, own, none := c.Services[0].Plans[0].Backup, c.Services[0].Plans[1].Backup, c.Services[1].Plans[0].Backup
	if inherited == nil || !slices.Equal(inherited.Dump, []string{"redis-cli", "--rdb", "-"}) || !slices.Equal(inherited.Restore, []string{"sh", "-ec", "load"}) || inherited.Timeout.D() != 10*time.Minute {
		t.Errorf("plan without a backup of its own: %+v, want the service's", inherited)
	}
	if own == nil || !slices.Equal(own.Dump, []string{"own-dump"}) || own.Timeout.D() != time.Hour {
		t.Errorf("plan with a backup of its own: %+v, want its own with the default timeout", own)
	}
	if none != nil {
		t.Errorf("a service without backup: %+v, want none (its volumes are copied)", none)
	}
	raw, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "own-dump") {
		t.Errorf("the OSB catalog shows the backup commands: %s", raw)
	}
}

func TestSecretFileAndHostname(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{
		"0.plans.0.credentials.password": map[string]any{"key": "REDIS_PASSWORD_FILE", "as_file": true},
		"0.plans.0.container.hostname":   "rabbitmq",
	}))
	p := c.Services[0].Plans[0]
	if f := p.Credentials.Password; f == nil || !f.AsFile || f.Key != "REDIS_PASSWORD_FILE" || p.Container.Hostname != "rabbitmq" {
		t.Errorf("password %+v hostname %q", f, p.Container.Hostname)
	}
}

// A password with no key is generated all the same, for files, bindings and their commands.
func TestPasswordWithoutKey(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{"0.plans.0.credentials.password": map[string]any{}}))
	if f := c.Services[0].Plans[0].Credentials.Password; f == nil || *f != (CredentialField{}) {
		t.Errorf("password: {} parsed as %+v, want a field with neither key nor value", f)
	}
	c, _ = mustParse(t, edited(t, map[string]any{"0.plans.0.credentials.password": nil}))
	if f := c.Services[0].Plans[0].Credentials.Password; f != nil {
		t.Errorf("password: null parsed as %+v, want no password", f)
	}
}

func TestContainerLimits(t *testing.T) {
	c, warnings := mustParse(t, edited(t, map[string]any{
		"0.plans.0.container.ulimits": map[string]any{
			"nofile": 65536, "nproc": "4096", "memlock": map[string]any{"soft": -1, "hard": -1}, "core": map[string]any{"soft": 0, "hard": "1024"},
		},
		"0.plans.0.container.sysctls": map[string]any{
			"net.core.somaxconn": 1024, "kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": " 100 ", "kernel.shmmax": "68719476736",
		},
		"0.plans.0.container.shm_size": "256m",
	}))
	k := c.Services[0].Plans[0].Container
	want := []Ulimit{{"core", 0, 1024}, {"memlock", -1, -1}, {"nofile", 65536, 65536}, {"nproc", 4096, 4096}}
	if !slices.Equal(k.Ulimits, want) {
		t.Errorf("ulimits %v, want %v (sorted by name)", k.Ulimits, want)
	}
	wantSysctls := map[string]string{"net.core.somaxconn": "1024", "kernel.sem": "250 32000 100 128", "fs.mqueue.msg_max": "100", "kernel.shmmax": "68719476736"}
	if !maps.Equal(k.Sysctls, wantSysctls) {
		t.Errorf("sysctls %v, want %v", k.Sysctls, wantSysctls)
	}
	if k.ShmSize != 256<<20 || len(warnings) != 0 {
		t.Errorf("shm size %d, warnings %q", k.ShmSize, warnings)
	}
	none := c.Services[1].Plans[0].Container
	if none.Ulimits != nil || none.Sysctls != nil || none.ShmSize != 0 || none.Files != nil {
		t.Errorf("a container without the keys: %+v", none)
	}
}

func TestEnvironmentTemplatesRenderInstanceFacts(t *testing.T) {
	c, _ := mustParse(t, edited(t, map[string]any{
		"0.plans.0.container.environment": []any{
			`KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://{{.ExternalHost}}:{{.HostPort "6379/tcp"}}`,
			"NODE={{.ContainerName}}@{{.InstanceID}}",
			"LEGACY=%{not a template} {x} ${HOME}",
		},
	}))
	k := c.Services[0].Plans[0].Container
	env, err := k.RenderEnvironment(NewInstanceFacts("i1", "cf-i1", "db.example.com", map[string]string{"6379/tcp": "42001"}))
	want := []string{"KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://db.example.com:42001", "NODE=cf-i1@i1", "LEGACY=%{not a template} {x} ${HOME}"}
	if err != nil || !slices.Equal(env, want) {
		t.Errorf("environment %q (%v), want %q", env, err, want)
	}
	// The image may decide the ports (no expose_ports): a port it turns out not to publish
	// fails the instance, not the load.
	c, _ = mustParse(t, edited(t, map[string]any{"1.plans.0.container.environment": []any{`PORT={{.HostPort "5432"}}`}}))
	_, err = c.Services[1].Plans[0].Container.RenderEnvironment(NewInstanceFacts("i1", "cf-i1", "h", map[string]string{"80/tcp": "42001"}))
	if err == nil || !strings.Contains(err.Error(), "container.environment PORT") || !strings.Contains(err.Error(), "publishes no port 5432/tcp") {
		t.Errorf("unpublished port: %v", err)
	}
}

func TestFilesAreWrittenIntoVolumes(t *testing.T) {
	c, warnings := mustParse(t, edited(t, map[string]any{
		"0.plans.0.credentials.username":         map[string]any{"key": "REDIS_USER"},
		"0.plans.0.container.persistent_volumes": []any{"/var/lib/rabbitmq", "/var/lib/rabbitmq/conf", "/data"},
		"0.plans.0.container.files": []any{
			map[string]any{"path": "/var/lib/rabbitmq/conf/rabbitmq.conf", "content": "default_user = {{.Username}}\ndefault_pass = {{.Password}}\n# apps reach it at {{.ExternalHost}}:{{.HostPort \"6379\"}}\n"},
			map[string]any{"path": "/data/users.acl", "content": "user default off\n", "mode": "0640", "once": false},
		},
	}))
	files := c.Services[0].Plans[0].Container.Files
	if len(files) != 2 || len(warnings) != 0 {
		t.Fatalf("files %+v, warnings %q", files, warnings)
	}
	conf, acl := files[0], files[1]
	if conf.Path != "/var/lib/rabbitmq/conf/rabbitmq.conf" || conf.Volume != "/var/lib/rabbitmq" || conf.Mode != 0o600 || !conf.Once {
		t.Errorf("%+v: want the outermost volume, mode 0600, once", conf)
	}
	if acl.Path != "/data/users.acl" || acl.Volume != "/data" || acl.Mode != 0o640 || acl.Once {
		t.Errorf("%+v: want mode 0640, rewritten", acl)
	}
	content, err := conf.Render(FileFacts{InstanceFacts: NewInstanceFacts("i1", "cf-i1", "h", map[string]string{"6379/tcp": "42001"}), Username: "u", Password: "p"})
	if want := "default_user = u\ndefault_pass = p\n# apps reach it at h:42001\n"; err != nil || string(content) != want {
		t.Errorf("content %q (%v), want %q", content, err, want)
	}
}

// The credentials a template uses are found wherever they stand, not only as a plain {{.Password}}.
func TestFieldsUsed(t *testing.T) {
	for text, want := range map[string][]string{
		"plain":                                                nil,
		"{{.Password}}":                                        {"Password"},
		"{{$.Username}}":                                       {"Username"},
		"{{$f := .}}{{$f.DBName}}":                             {"DBName"},
		"{{(.).Password}}":                                     {"Password"},
		"{{with $}}{{.Username}}{{end}}":                       {"Username"},
		"{{if false}}{{else}}{{.DBName}}{{end}}":               {"DBName"},
		`{{printf "%s:%s" .InstanceID .Password}}`:             {"InstanceID", "Password"},
		`{{range $i := .Ports}}{{end}}`:                        {"Ports"},
		`{{define "x"}}{{.DBName}}{{end}}`:                     {"DBName"},
		`{{template "x" .Username}}{{define "x"}}{{.}}{{end}}`: {"Username"},
	} {
		tmpl, err := template.New("t").Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := slices.Sorted(maps.Keys(fieldsUsed(tmpl))); !slices.Equal(got, want) {
			t.Errorf("%s uses %q, want %q", text, got, want)
		}
	}
}

// A template may use every credential the plan has: a password: {} that no variable passes too.
func TestTemplatesUseTheCredentialsThePlanHas(t *testing.T) {
	mustParse(t, edited(t, map[string]any{
		"0.plans.0.credentials.password":         map[string]any{},
		"0.plans.0.credentials.username":         map[string]any{"value": "admin"},
		"0.plans.0.credentials.dbname":           map[string]any{"key": "DB"},
		"0.plans.0.container.persistent_volumes": []any{"/data"},
		"0.plans.0.container.files":              []any{map[string]any{"path": "/data/x", "content": "{{.Username}}:{{.Password}}@{{.DBName}}"}},
		"0.plans.0.bindings":                     bindings("extra_credentials", map[string]any{"db": "{{.Username}}:{{.Password}}@{{.DBName}}"}),
	}))
}

func TestSanityCheckOfTheServiceAppliesToPlansWithoutTheirOwn(t *testing.T) {
	c, warnings := mustParse(t, edited(t, map[string]any{
		"0.sanity_check":          map[string]any{"command": []any{"sh", "-ec", "redis-cli ping"}},
		"0.plans.0.container.tag": "7.4",
		"0.plans.1": map[string]any{"id": "plan-a2", "name": "own", "description": "Own", "container": map[string]any{"backend": "docker", "image": "example/redis"},
			"sanity_check": map[string]any{"command": "check-it", "image": "example/client:2", "timeout": "5s"}},
	}))
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	inherited, own, none := c.Services[0].Plans[0].SanityCheck, c.Services[0].Plans[1].SanityCheck, c.Services[1].Plans[0].SanityCheck
	if inherited == nil || inherited.Image != "example/redis:7.4" || !slices.Equal(inherited.Command, []string{"sh", "-ec", "redis-cli ping"}) || inherited.Timeout.D() != time.Minute {
		t.Errorf("plan without a check of its own: %+v, want the service's on the plan's image with a timeout of one minute", inherited)
	}
	if own == nil || own.Image != "example/client:2" || !slices.Equal(own.Command, []string{"check-it"}) || own.Timeout.D() != 5*time.Second {
		t.Errorf("plan with a check of its own: %+v", own)
	}
	if none != nil {
		t.Errorf("a service without a sanity check: %+v", none)
	}
	// The check is the errand's business: the platform never sees it.
	raw, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "sanity") || strings.Contains(string(raw), "check-it") {
		t.Errorf("the OSB catalog shows the sanity check: %s", raw)
	}
}
