package sanitytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

const services = `[{"id": "s-redis", "name": "redis32", "description": "Redis",
  "sanity_check": {"command": ["redis-cli", "ping"]},
  "plans": [{"id": "p-free", "name": "free", "description": "Free", "container": {"backend": "docker", "image": "frodenas/redis", "tag": "3.2"}},
            {"id": "p-big", "name": "big", "description": "Big", "container": {"backend": "docker", "image": "frodenas/redis", "tag": "3.2"}}]},
 {"id": "s-pg", "name": "postgresql96", "description": "PostgreSQL",
  "plans": [{"id": "p-pg", "name": "free", "description": "Free", "container": {"backend": "docker", "image": "frodenas/postgresql", "tag": "9.6"}}]}]`

func writeConfig(t *testing.T, fields map[string]any) string {
	t.Helper()
	doc := map[string]any{
		"errand":        ErrandName,
		"broker":        map[string]any{"url": "http://10.0.0.5:8080", "username": "broker", "password": "secret"},
		"docker_socket": "/var/vcap/sys/run/docker/docker.sock",
		"services":      json.RawMessage(services),
	}
	for k, v := range fields {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sanity-test.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaultsAndPlans(t *testing.T) {
	c, err := LoadConfig(writeConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout.D() != 10*time.Minute || c.CleanupTimeout.D() != 2*time.Minute {
		t.Errorf("timeouts %v and %v, want the defaults 10m and 2m", c.Timeout.D(), c.CleanupTimeout.D())
	}
	var names []string
	for _, p := range selectPlans(c) {
		names = append(names, p.name)
	}
	if strings.Join(names, " ") != "redis32/free redis32/big postgresql96/free" {
		t.Errorf("without plans the errand tests %q, want every plan in the catalog's order", names)
	}

	c, err = LoadConfig(writeConfig(t, map[string]any{"plans": []string{"postgresql96/free", "redis32/big"}}))
	if err != nil {
		t.Fatal(err)
	}
	chosen := selectPlans(c)
	if len(chosen) != 2 || chosen[0].name != "redis32/big" || chosen[1].name != "postgresql96/free" {
		t.Errorf("plans [postgresql96/free, redis32/big] chose %+v", chosen)
	}
	if chosen[0].id != "sanity-test-p-big" || chosen[0].catalogPlan.SanityCheck == nil || chosen[1].catalogPlan.SanityCheck != nil {
		t.Errorf("plan ids and checks: %+v", chosen)
	}
}

func TestConfigProblemsNameTheirField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"unknown plan", map[string]any{"plans": []string{"redis32/free", "redis99/free"}}, `plans[1]: "redis99/free" is no plan of the broker's catalog: write SERVICE/PLAN, one of redis32/free, redis32/big, postgresql96/free`},
		{"plan without service", map[string]any{"plans": []string{"free"}}, `plans[0]: "free" is no plan`},
		{"plan twice", map[string]any{"plans": []string{"redis32/free", "redis32/free"}}, `plans[1]: "redis32/free" is listed twice`},
		{"another errand's config", map[string]any{"errand": nil}, `errand: "": must be "sanity-test"`},
		{"broker url", map[string]any{"broker": map[string]any{"url": "10.0.0.5:8080", "username": "b", "password": "p"}}, "broker.url:"},
		{"broker password", map[string]any{"broker": map[string]any{"url": "http://b:8080", "username": "b"}}, "broker.password: is required"},
		{"socket", map[string]any{"docker_socket": "docker.sock"}, "docker_socket:"},
		{"no services", map[string]any{"services": nil}, "services: is required"},
		{"a bad check", map[string]any{"services": json.RawMessage(strings.Replace(services, `"command": ["redis-cli", "ping"]`, `"image": "redis"`, 1))}, "services[0].sanity_check.command: required"},
		{"negative timeout", map[string]any{"timeout": "-1s"}, "timeout: -1s: must be longer than zero"},
		{"unknown key", map[string]any{"plan": []string{"redis32/free"}}, "plan: unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tc.fields))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want a problem containing %q", err, tc.want)
			}
		})
	}
}

func TestAConfigNamesItsErrand(t *testing.T) {
	data, err := os.ReadFile(writeConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := config.ErrandOf(data); got != ErrandName {
		t.Errorf("check-config would take a sanity-test config for the %q errand's", got)
	}
}
