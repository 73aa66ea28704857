package catalog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// legacyCatalog parses every original service (testdata/legacy, converted from the ops files of
// docker-broker-deployment, see its README) together, as an operator applying them all would.
func legacyCatalog(t *testing.T) (*Catalog, []string) {
	t.Helper()
	files, err := filepath.Glob("testdata/legacy/*.json")
	if err != nil || len(files) != 15 {
		t.Fatalf("want the 15 legacy services, found %d (%v)", len(files), err)
	}
	var services []json.RawMessage
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, data)
	}
	raw, err := json.Marshal(services)
	if err != nil {
		t.Fatal(err)
	}
	c, warnings, err := Parse(raw)
	if err != nil {
		t.Fatalf("the legacy services must load unchanged:\n%v", err)
	}
	return c, warnings
}

func TestLegacyServicesKeepTheirNamesAndGUIDs(t *testing.T) {
	c, _ := legacyCatalog(t)
	// ancestors.md §4.5: what existing Cloud Foundry installations have registered.
	want := []struct{ service, serviceID, plan, planID string }{
		{"postgresql96", "ef761cec-14f7-11e7-8dfb-bbab51a4e12a", "free", "f30f03fa-14f7-11e7-8d86-cf0d7f2c3728"},
		{"mysql56", "24736f4a-72b8-4298-96f7-b48c4045ddfd", "free", "d42fc3cc-1341-4aa3-866e-01bc5243dc2e"},
		{"redis32", "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822", "free", "13d21792-14f5-11e7-81cd-4357fa4eeda9"},
		{"mongodb26", "23eefc93-6814-4db8-bbf0-eaa6c3c5fecc", "free", "6d8024b1-7deb-4dc7-a72a-33ec3f7a1bfc"},
		{"rabbitmq33", "3ce3d09a-90f0-437b-82f7-6a33194025c7", "free", "6d3d7e5a-c7ce-4f80-99ca-7cc52445d355"},
		{"memcached14", "7affa902-d8fb-46db-b13d-f688cebda211", "128Mb", "febbe2ce-1461-419f-a237-3b35cb43fe09"},
		{"memcached14", "7affa902-d8fb-46db-b13d-f688cebda211", "512Mb", "0d1bb839-ba7b-4163-af09-b5f4f610cf1e"},
		{"memcached14", "7affa902-d8fb-46db-b13d-f688cebda211", "1Gb", "49ca90b5-90f1-4f32-9161-44585cee63d2"},
		{"couchdb16", "b76f6d51-f701-48c2-9614-7240fe580346", "free", "3a35568d-aea9-447f-9e39-363c2e9da193"},
		{"arangodb22", "3f97963d-2224-488f-b945-1fb2dff61a72", "free", "01a3df74-0718-48ca-8b30-a9f79e8bec94"},
		{"elastic13", "aa0bf747-1a11-4d11-aaca-b3878a17b9ea", "free", "cff75095-36b7-4e91-91e4-4d27b7bd8867"},
		{"neo4j21", "5d7b4893-bd37-495d-8f94-cf45e1fdf74a", "free", "8f1028b9-68ad-4e6c-bd5a-dbbafd622ffb"},
		{"logstash14", "e72113ed-fde7-45fd-8758-aff41e6c5507", "free", "5218782d-7fab-4534-92b8-434204d88c7b"},
		{"consul", "2cb838d0-2df9-11e4-a506-a6c5e4d22fb7", "free", "2cb83bb4-2df9-11e4-a506-a6c5e4d22fb7"},
		{"etcd", "211411a0-2da1-11e4-852f-a6c5e4d22fb7", "free", "5d52a2bc-2da1-11e4-852f-a6c5e4d22fb7"},
		{"nats", "b9310aba-2fa4-11e4-b626-a6c5e4d22fb7", "free", "b9310e34-2fa4-11e4-b626-a6c5e4d22fb7"},
		{"rethinkdb", "617b9186-2e5b-11e4-af5d-a6c5e4d22fb7", "free", "6194d79a-2e5b-11e4-af5d-a6c5e4d22fb7"},
	}
	plans := 0
	for _, s := range c.Services {
		plans += len(s.Plans)
	}
	if len(c.Services) != 15 || plans != len(want) {
		t.Errorf("%d services with %d plans, want 15 with %d", len(c.Services), plans, len(want))
	}
	for _, w := range want {
		s, p, ok := c.Plan(w.serviceID, w.planID)
		if !ok {
			t.Errorf("%s/%s: plan %s of service %s not found", w.service, w.plan, w.planID, w.serviceID)
			continue
		}
		if s.Name != w.service || p.Name != w.plan {
			t.Errorf("%s/%s: found %s/%s", w.service, w.plan, s.Name, p.Name)
		}
	}
}

// legacyService finds a legacy service by name.
func legacyService(t *testing.T, c *Catalog, name string) Service {
	t.Helper()
	i := slices.IndexFunc(c.Services, func(s Service) bool { return s.Name == name })
	if i < 0 {
		t.Fatalf("no service %s", name)
	}
	return c.Services[i]
}

func TestLegacyServicesDetails(t *testing.T) {
	c, warnings := legacyCatalog(t)

	memcached := legacyService(t, c, "memcached14")
	for _, want := range []struct {
		plan          string
		memory        int64
		maxContainers int
	}{{"128Mb", 128 << 20, 8}, {"512Mb", 512 << 20, 2}, {"1Gb", 1073741824, 1}} {
		i := slices.IndexFunc(memcached.Plans, func(p Plan) bool { return p.Name == want.plan })
		if i < 0 {
			t.Fatalf("memcached14 has no plan %s", want.plan)
		}
		p := memcached.Plans[i]
		if p.Container.Memory != want.memory || p.MaxContainers != want.maxContainers {
			t.Errorf("memcached14/%s: memory %d, max_containers %d; want %d, %d", want.plan, p.Container.Memory, p.MaxContainers, want.memory, want.maxContainers)
		}
	}

	if neo4j := legacyService(t, c, "neo4j21"); !neo4j.Plans[0].Container.Privileged {
		t.Error("neo4j21 must run privileged")
	}

	consul := legacyService(t, c, "consul").Plans[0]
	if uri := consul.Credentials.URI; uri == nil || uri.Prefix != "" || uri.Port != "8500/tcp" {
		t.Errorf("consul's uri: %+v; want no prefix (so no uri credential) and port 8500/tcp, as the ancestor read it", uri)
	}
	typo := "services[1].plans[0].credentials.uri.uri: unknown key"
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, typo) }) {
		t.Errorf("no warning %q among:\n%s", typo, strings.Join(warnings, "\n"))
	}

	logstash := legacyService(t, c, "logstash14")
	if p := logstash.Plans[0]; p.SyslogDrainPort != "514/tcp" || p.SyslogDrainProtocol != "syslog" {
		t.Errorf("logstash14: syslog drain %q %q, want 514/tcp syslog", p.SyslogDrainPort, p.SyslogDrainProtocol)
	}

	mongo := legacyService(t, c, "mongodb26").Plans[0]
	if got := mongo.Container.Command; !slices.Equal(got, []string{"--smallfiles", "--httpinterface"}) {
		t.Errorf("mongodb26 command %q", got)
	}
	if got := mongo.Container.ImageRef(); got != "frodenas/mongodb:2.6" {
		t.Errorf("mongodb26 image %q", got)
	}

	redis := legacyService(t, c, "redis32")
	p := redis.Plans[0]
	if p.Credentials.Password == nil || p.Credentials.Password.Key != "REDIS_PASSWORD" || p.Credentials.Username != nil || p.Credentials.URI != nil {
		t.Errorf("redis32 credentials %+v: want the password only", p.Credentials)
	}
	if !slices.Equal(p.Container.PersistentVolumes, []string{"/data"}) || p.Container.Restart.Name != "always" {
		t.Errorf("redis32 container %+v", p.Container)
	}
	if redis.PlanUpdateable || p.IsUpdateable(redis) || !p.IsBindable(redis) || !p.Free {
		t.Error("redis32: want bindable, free, and not plan_updateable (no longer forced true)")
	}
	if d := redis.DashboardClient; d == nil || d.ID != "docker-broker-redis32" || d.Secret == "" {
		t.Errorf("redis32 dashboard client %+v", d)
	}

	for _, w := range warnings {
		if !strings.Contains(w, "dashboard_client: no redirect_uri") && !strings.HasPrefix(w, typo) {
			t.Errorf("unexpected warning: %s", w)
		}
	}
}

func TestLegacyCatalogRendersForTheOSB(t *testing.T) {
	c, _ := legacyCatalog(t)
	body, err := c.MarshalOSB()
	if err != nil {
		t.Fatal(err)
	}
	for _, private := range []string{"frodenas/redis", "REDIS_PASSWORD", "persistent_volumes", "literal-docker-broker", "514/tcp"} {
		if strings.Contains(string(body), private) {
			t.Errorf("the catalog reveals %q", private)
		}
	}
	var decoded struct {
		Services []struct {
			Name     string
			Requires []string
			Plans    []struct{ Metadata map[string]any }
		}
	}
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Services) != 15 {
		t.Fatalf("%d services rendered", len(decoded.Services))
	}
	for _, s := range decoded.Services {
		if s.Name == "logstash14" && !slices.Equal(s.Requires, []string{"syslog_drain"}) {
			t.Errorf("logstash14 requires %v", s.Requires)
		}
		if s.Plans[0].Metadata["bullets"] == nil {
			t.Errorf("%s: plan metadata lost", s.Name)
		}
	}
}
