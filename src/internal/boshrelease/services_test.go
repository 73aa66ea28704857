package boshrelease_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// servicesFiles are the services ops files, relative to the repository.
func servicesFiles(t testing.TB) []string {
	t.Helper()
	var list []string
	for _, op := range opsFiles(t) {
		if matched, _ := filepath.Match("services/op-*.yml", op); matched {
			list = append(list, op)
		}
	}
	if len(list) == 0 {
		t.Fatal("no services/op-*.yml")
	}
	return list
}

// everyService is the broker's catalog when an operator deploys every services ops file at
// once, with the parser's warnings.
func everyService(t *testing.T) (*catalog.Catalog, []string) {
	t.Helper()
	raw, err := json.Marshal(deployedJob(t, "docker-broker", servicesFiles(t)...).Properties["services"])
	if err != nil {
		t.Fatal(err)
	}
	c, warnings, err := catalog.Parse(raw)
	if err != nil {
		// Duplicate service ids, plan ids or service names across files are errors here.
		t.Fatalf("the services of every services ops file together do not load:\n%v", err)
	}
	return c, warnings
}

// deployedJob is the job of the docker instance group as the manifest deploys it with ops.
func deployedJob(t *testing.T, name string, ops ...string) boshrelease.ManifestJob {
	t.Helper()
	m, err := (composition{ops: ops}).interpolation(t).Manifest()
	if err != nil {
		t.Fatal(err)
	}
	ig, _ := m.InstanceGroup("docker")
	job, ok := ig.Job(name)
	if !ok {
		t.Fatalf("no %s job on the docker instance group", name)
	}
	return job
}

// legacyPlan is a plan of an original offering: name and GUID.
type legacyPlan struct{ name, id string }

// legacyOffering is an original offering as existing installations registered it.
type legacyOffering struct {
	file, service, id string
	plans             []legacyPlan
	image             string
	keys              [3]string // username, password and dbname keys, "" where absent
	uri               string    // "prefix port" (or "prefix"), "" where absent
	marked            bool      // marked legacy in its description and longDescription
}

// legacyOfferings are the original offerings (ancestors.md §4.5), as existing Cloud Foundry
// installations have registered them: each must stay in the services file of its name, with
// its service name, service GUID, plans and plan GUIDs, image and credential keys.
var legacyOfferings = []legacyOffering{
	{"op-postgresql96.yml", "postgresql96", "ef761cec-14f7-11e7-8dfb-bbab51a4e12a", []legacyPlan{{"free", "f30f03fa-14f7-11e7-8d86-cf0d7f2c3728"}},
		"frodenas/postgresql:9.6", [3]string{"POSTGRES_USERNAME", "POSTGRES_PASSWORD", "POSTGRES_DBNAME"}, "postgres", false},
	{"op-mysql56.yml", "mysql56", "24736f4a-72b8-4298-96f7-b48c4045ddfd", []legacyPlan{{"free", "d42fc3cc-1341-4aa3-866e-01bc5243dc2e"}},
		"frodenas/mysql:5.6", [3]string{"MYSQL_USERNAME", "MYSQL_PASSWORD", "MYSQL_DBNAME"}, "mysql", false},
	{"op-redis32.yml", "redis32", "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822", []legacyPlan{{"free", "13d21792-14f5-11e7-81cd-4357fa4eeda9"}},
		"frodenas/redis:3.2", [3]string{"", "REDIS_PASSWORD", ""}, "", true},
	{"op-mongodb26.yml", "mongodb26", "23eefc93-6814-4db8-bbf0-eaa6c3c5fecc", []legacyPlan{{"free", "6d8024b1-7deb-4dc7-a72a-33ec3f7a1bfc"}},
		"frodenas/mongodb:2.6", [3]string{"MONGODB_USERNAME", "MONGODB_PASSWORD", "MONGODB_DBNAME"}, "mongodb 27017/tcp", true},
	{"op-rabbitmq33.yml", "rabbitmq33", "3ce3d09a-90f0-437b-82f7-6a33194025c7", []legacyPlan{{"free", "6d3d7e5a-c7ce-4f80-99ca-7cc52445d355"}},
		"frodenas/rabbitmq:latest", [3]string{"RABBITMQ_USERNAME", "RABBITMQ_PASSWORD", ""}, "amqp 5672/tcp", true},
	{"op-memcached14.yml", "memcached14", "7affa902-d8fb-46db-b13d-f688cebda211", []legacyPlan{
		{"128Mb", "febbe2ce-1461-419f-a237-3b35cb43fe09"}, {"512Mb", "0d1bb839-ba7b-4163-af09-b5f4f610cf1e"}, {"1Gb", "49ca90b5-90f1-4f32-9161-44585cee63d2"},
	}, "frodenas/memcached:1.4", [3]string{"MEMCACHED_USERNAME", "MEMCACHED_PASSWORD", ""}, "", true},
	{"op-couchdb16.yml", "couchdb16", "b76f6d51-f701-48c2-9614-7240fe580346", []legacyPlan{{"free", "3a35568d-aea9-447f-9e39-363c2e9da193"}},
		"frodenas/couchdb:1.6", [3]string{"COUCHDB_USERNAME", "COUCHDB_PASSWORD", "COUCHDB_DBNAME"}, "couchdb", true},
	{"op-arangodb22.yml", "arangodb22", "3f97963d-2224-488f-b945-1fb2dff61a72", []legacyPlan{{"free", "01a3df74-0718-48ca-8b30-a9f79e8bec94"}},
		"frodenas/arangodb:2.2", [3]string{"ARANGODB_USERNAME", "ARANGODB_PASSWORD", "ARANGODB_DBNAME"}, "arangodb", true},
	{"op-elastic13.yml", "elastic13", "aa0bf747-1a11-4d11-aaca-b3878a17b9ea", []legacyPlan{{"free", "cff75095-36b7-4e91-91e4-4d27b7bd8867"}},
		"frodenas/elasticsearch:1.3", [3]string{}, "", true},
	{"op-neo4j21.yml", "neo4j21", "5d7b4893-bd37-495d-8f94-cf45e1fdf74a", []legacyPlan{{"free", "8f1028b9-68ad-4e6c-bd5a-dbbafd622ffb"}},
		"frodenas/neo4j:2.1", [3]string{}, "", true},
	{"op-logstash14.yml", "logstash14", "e72113ed-fde7-45fd-8758-aff41e6c5507", []legacyPlan{{"free", "5218782d-7fab-4534-92b8-434204d88c7b"}},
		"frodenas/logstash:1.4", [3]string{}, "", true},
	// The original's uri had the typo `uri: consul` for `prefix: consul`; the port was read.
	{"op-consul03.yml", "consul", "2cb838d0-2df9-11e4-a506-a6c5e4d22fb7", []legacyPlan{{"free", "2cb83bb4-2df9-11e4-a506-a6c5e4d22fb7"}},
		"progrium/consul:latest", [3]string{}, "consul 8500/tcp", true},
	{"op-etcd04.yml", "etcd", "211411a0-2da1-11e4-852f-a6c5e4d22fb7", []legacyPlan{{"free", "5d52a2bc-2da1-11e4-852f-a6c5e4d22fb7"}},
		"drnic/etcd:0.4.6", [3]string{}, "etcd 4001/tcp", true},
	{"op-nats05.yml", "nats", "b9310aba-2fa4-11e4-b626-a6c5e4d22fb7", []legacyPlan{{"free", "b9310e34-2fa4-11e4-b626-a6c5e4d22fb7"}},
		"drnic/gnatsd:0.5.4", [3]string{"NATS_USERNAME", "NATS_PASSWORD", ""}, "nats 4222/tcp", true},
	{"op-rethinkdb114.yml", "rethinkdb", "617b9186-2e5b-11e4-af5d-a6c5e4d22fb7", []legacyPlan{{"free", "6194d79a-2e5b-11e4-af5d-a6c5e4d22fb7"}},
		"rethinkdb:latest", [3]string{}, "rethinkdb 28015/tcp", true},
}

// explainedWarning says whether the services files explain a warning of the catalog parser:
// the original offerings keep their dashboard_client, which has no redirect_uri (a comment
// above each says so). No other warning is explained.
func explainedWarning(c *catalog.Catalog, w string) bool {
	for i, s := range c.Services {
		if strings.HasPrefix(w, fmt.Sprintf("services[%d].dashboard_client: no redirect_uri, so the catalog leaves the dashboard client out", i)) {
			return slices.ContainsFunc(legacyOfferings, func(o legacyOffering) bool { return o.id == s.ID })
		}
	}
	return false
}

// TestEveryServicesFileTogetherLoadsAndKeepsTheLegacyOfferings deploys every services ops file
// at once and parses the broker's `services` property as the broker does: ids and names must be
// unique across files, every warning must be one the files explain, and every original offering
// must be there, in its file, as existing installations registered it.
func TestEveryServicesFileTogetherLoadsAndKeepsTheLegacyOfferings(t *testing.T) {
	c, warnings := everyService(t)
	for _, w := range warnings {
		if !explainedWarning(c, w) {
			t.Errorf("warning no services file explains: %s", w)
		}
	}
	if n := len(servicesFiles(t)); len(c.Services) != n {
		t.Errorf("%d services from %d services files, want one each", len(c.Services), n)
	}

	for _, want := range legacyOfferings {
		t.Run(want.service, func(t *testing.T) {
			if got := serviceIDOfFile(t, "services/"+want.file); got != want.id {
				t.Errorf("services/%s adds the service %q, want %s's %s", want.file, got, want.service, want.id)
			}
			i := slices.IndexFunc(c.Services, func(s catalog.Service) bool { return s.ID == want.id })
			if i < 0 {
				t.Fatalf("no service %s (%s) in the catalog", want.service, want.id)
			}
			s := c.Services[i]
			if s.Name != want.service {
				t.Errorf("service %s is called %q, want %q", want.id, s.Name, want.service)
			}
			var names, ids []string
			for _, p := range s.Plans {
				names, ids = append(names, p.Name), append(ids, p.ID)
			}
			for _, wp := range want.plans {
				j := slices.Index(ids, wp.id)
				if j < 0 {
					t.Errorf("no plan %s (%s); the plans are %v %v", wp.name, wp.id, names, ids)
					continue
				}
				p := s.Plans[j]
				if p.Name != wp.name {
					t.Errorf("plan %s is called %q, want %q", wp.id, p.Name, wp.name)
				}
				if got := p.Container.ImageRef(); got != want.image {
					t.Errorf("plan %s: image %s, want %s", wp.name, got, want.image)
				}
				if got := credentialKeys(p.Credentials); got != want.keys {
					t.Errorf("plan %s: credential keys %q, want %q", wp.name, got, want.keys)
				}
				var uri string
				if u := p.Credentials.URI; u != nil {
					uri = strings.TrimSpace(u.Prefix + " " + u.Port)
				}
				if uri != want.uri {
					t.Errorf("plan %s: uri %q, want %q", wp.name, uri, want.uri)
				}
			}
			if len(s.Plans) != len(want.plans) {
				t.Errorf("plans %v, want %d", names, len(want.plans))
			}
			if want.marked {
				image, _, _ := strings.Cut(want.image, ":")
				long, _ := s.Metadata["longDescription"].(string)
				if !strings.Contains(s.Description, "(legacy image") || !strings.Contains(long, "the legacy "+image+" image") {
					t.Errorf("not marked legacy: description %q, longDescription %q", s.Description, long)
				}
			}
		})
	}

	// What the ports fixed of the originals.
	if s := serviceNamed(t, c, "neo4j21"); s.Plans[0].Container.Privileged {
		t.Error("neo4j21 runs privileged")
	}
	memcached := serviceNamed(t, c, "memcached14")
	for i, want := range []struct {
		memory        int64
		maxContainers int
	}{{128 << 20, 8}, {512 << 20, 2}, {1 << 30, 1}} {
		if p := memcached.Plans[i]; p.Container.Memory != want.memory || p.MaxContainers != want.maxContainers {
			t.Errorf("memcached14/%s: memory %d, max_containers %d; want %d, %d", p.Name, p.Container.Memory, p.MaxContainers, want.memory, want.maxContainers)
		}
	}
	if p := serviceNamed(t, c, "logstash14").Plans[0]; p.SyslogDrainPort != "514/tcp" {
		t.Errorf("logstash14: syslog_drain_port %q, want 514/tcp", p.SyslogDrainPort)
	}
}

func serviceNamed(t *testing.T, c *catalog.Catalog, name string) catalog.Service {
	t.Helper()
	i := slices.IndexFunc(c.Services, func(s catalog.Service) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("no service %s", name)
	}
	return c.Services[i]
}

// credentialKeys are the environment keys of a plan's username, password and dbname.
func credentialKeys(c catalog.Credentials) [3]string {
	var keys [3]string
	for i, f := range []*catalog.CredentialField{c.Username, c.Password, c.DBName} {
		if f != nil {
			keys[i] = f.Key
		}
	}
	return keys
}

// serviceIDOfFile reads the id of the service a services ops file appends.
func serviceIDOfFile(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var ops []struct {
		Path  string `yaml:"path"`
		Value struct {
			ID string `yaml:"id"`
		} `yaml:"value"`
	}
	if err := yaml.Unmarshal(data, &ops); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var ids []string
	for _, op := range ops {
		if strings.HasSuffix(op.Path, "/jobs/name=docker-broker/properties/services/-") {
			ids = append(ids, op.Value.ID)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s appends %d services, want 1", file, len(ids))
	}
	return ids[0]
}

// TestServicesFilesSetTheHostSettingsTheirEnginesNeed: an offering whose engine refuses to run
// without a host kernel setting sets it on the docker job itself, so that adding its services
// file is all an operator does; the setting stays out of deployments without such an offering.
func TestServicesFilesSetTheHostSettingsTheirEnginesNeed(t *testing.T) {
	maxMapCount := func(ops ...string) any {
		t.Helper()
		vm, _ := deployedJob(t, "docker", ops...).Properties["vm"].(map[string]any)
		return vm["max_map_count"]
	}
	// OpenSearch and Elasticsearch need vm.max_map_count >= 262144 (their documentation).
	for _, file := range []string{"services/op-opensearch3.yml", "services/op-elasticsearch9.yml"} {
		if got := maxMapCount(file); got != 262144 {
			t.Errorf("%s: the docker job's vm.max_map_count is %v, want 262144", file, got)
		}
	}
	if got := maxMapCount(seedServices...); got != nil {
		t.Errorf("the seed's offerings: the docker job's vm.max_map_count is %v, want it unset", got)
	}
}
