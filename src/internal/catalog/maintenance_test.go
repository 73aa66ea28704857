package catalog

import (
	"maps"
	"strings"
	"testing"
)

// planWith is services[0].plans[0] of baseCatalog with edits.
func planWith(t *testing.T, edits map[string]any) Plan {
	t.Helper()
	c, _ := mustParse(t, edited(t, edits))
	return c.Services[0].Plans[0]
}

func TestSpecDigestFollowsWhatTheContainerRuns(t *testing.T) {
	base := planWith(t, nil).SpecDigest()
	if again := planWith(t, nil).SpecDigest(); again != base {
		t.Fatalf("digest of the same plan changed: %s, then %s", base, again)
	}
	unchanged := map[string]map[string]any{
		"description":         {"0.plans.0.description": "Another description"},
		"metadata":            {"0.plans.0.metadata": map[string]any{"displayName": "Free", "bullets": []any{"cheap"}}},
		"maintenance_info":    {"0.plans.0.maintenance_info": map[string]any{"version": "2.0.0", "description": "redis 7"}},
		"service description": {"0.description": "Another service"},
		"health check":        {"0.plans.0.health_check": map[string]any{"tcp_port": "6379"}},
		"max_containers":      {"0.plans.0.max_containers": 3},
		"a fixed password":    {"0.plans.0.credentials.password.value": "fixed"},
		"a default written":   {"0.plans.0.container.tag": "latest"},
	}
	for name, edits := range unchanged {
		if got := planWith(t, edits).SpecDigest(); got != base {
			t.Errorf("%s: digest changed (%s, was %s), though the container runs the same", name, got, base)
		}
	}
	files := withFiles(map[string]any{"path": "/data/redis.conf", "content": "requirepass {{.Password}}\n"})
	changed := map[string]map[string]any{
		"tag":           {"0.plans.0.container.tag": "7.4"},
		"image":         {"0.plans.0.container.image": "example/valkey"},
		"command":       {"0.plans.0.container.command": "redis-server --appendonly yes"},
		"environment":   {"0.plans.0.container.environment": []any{"MODE=cluster"}},
		"memory":        {"0.plans.0.container.memory": "256m"},
		"volumes":       {"0.plans.0.container.persistent_volumes": []any{"/data"}},
		"files":         files,
		"password key":  {"0.plans.0.credentials.password.key": "REDIS_PASS"},
		"password file": {"0.plans.0.credentials.password.as_file": true},
	}
	otherContent := maps.Clone(files)
	otherContent["0.plans.0.container.files"] = []any{map[string]any{"path": "/data/redis.conf", "content": "requirepass {{.Password}}\nappendonly yes\n"}}
	changed["file content"] = otherContent
	seen := map[string]string{base: "the base plan"}
	for name, edits := range changed {
		got := planWith(t, edits).SpecDigest()
		if other, dup := seen[got]; dup {
			t.Errorf("%s: digest %s, the same as %s", name, got, other)
		}
		seen[got] = name
	}
}

func TestPublishedMaintenance(t *testing.T) {
	plain := planWith(t, nil)
	digest, info := plain.PublishedMaintenance("", "")
	if digest != plain.SpecDigest() || info.Version != "1.0.0" || info.Description != "example/redis:latest, container spec "+digest[:8] {
		t.Errorf("first publication of a plan without maintenance_info: %s %+v", digest, info)
	}
	filed := planWith(t, map[string]any{"0.plans.0.maintenance_info": map[string]any{"version": "1.2.0", "description": "Redis 7"}})
	if _, info := filed.PublishedMaintenance("", ""); info.Version != "1.2.0" || !strings.HasPrefix(info.Description, "Redis 7; example/redis:latest, container spec ") {
		t.Errorf("first publication of a plan with maintenance_info: %+v", info)
	}
	for _, tt := range []struct {
		name                    string
		plan                    Plan
		lastDigest, lastVersion string
		want                    string
	}{
		{"same spec", plain, digest, "1.0.4", "1.0.4"},
		{"new spec", plain, "other", "1.0.4", "1.0.5"},
		{"new spec after a pre-release", plain, "other", "1.1.0-rc.1+build.7", "1.1.1"},
		{"file raised by hand", filed, filed.SpecDigest(), "1.0.4", "1.2.0"},
		{"file raised by hand and new spec", filed, "other", "1.0.4", "1.2.0"},
		{"new spec above the file", filed, "other", "1.2.0", "1.2.1"},
		{"file lowered by hand", filed, filed.SpecDigest(), "1.3.0", "1.3.0"},
	} {
		if _, info := tt.plan.PublishedMaintenance(tt.lastDigest, tt.lastVersion); info.Version != tt.want {
			t.Errorf("%s: version %s, want %s", tt.name, info.Version, tt.want)
		}
	}
}
