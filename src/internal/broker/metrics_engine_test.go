package broker_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
)

// brokenPlan is a redis32 plan whose container exits at once: its provisions fail.
const brokenPlan = "7f0c5e2a-5b1d-4c8e-9a43-0d1e2f3a4b5c"

// servicesWithABrokenPlan is testdata/services.json with brokenPlan added to redis32.
func servicesWithABrokenPlan(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	var services []map[string]any
	if err := json.Unmarshal(raw, &services); err != nil {
		t.Fatal(err)
	}
	plans := services[0]["plans"].([]any)
	services[0]["plans"] = append(plans, map[string]any{
		"id": brokenPlan, "name": "broken", "description": "exits at once",
		"container":   map[string]any{"backend": "docker", "image": "frodenas/redis", "tag": "3.2", "entrypoint": []string{"/bin/sh", "-c", "exit 3"}},
		"credentials": map[string]any{"password": map[string]any{"key": "REDIS_PASSWORD"}},
	})
	out, err := json.Marshal(services)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAScrapeCountsWhatTheAPIDid runs a platform's day on a real engine — three instances
// across two plans, two bindings, an unbind, a deprovision, a provision that fails, a request
// for no endpoint — then scrapes /metrics as Prometheus does and reads it with Prometheus's
// text parser: the figures are what the API did and what the engine runs.
func TestAScrapeCountsWhatTheAPIDid(t *testing.T) {
	h := startHarness(t, servicesWithABrokenPlan(t), func(c *broker.Config) {
		c.PortRange = [2]int{25000, 25099}
		c.MaxContainers = 5
	})
	h.provision("r1", redisService, redisFree)
	h.provision("r2", redisService, redisFree)
	h.provision("r3", redisService, redisTiny)
	_, c1 := h.bind("r1", "b1", redisService, redisFree)
	_, c2 := h.bind("r3", "b2", redisService, redisTiny)
	if status, body := h.do("DELETE", "/v2/service_instances/r1/service_bindings/b1?service_id="+redisService+"&plan_id="+redisFree, nil); status != http.StatusOK {
		t.Fatalf("unbind b1: %d %s", status, body)
	}
	if status, body := h.deprovision("r2", redisService, redisFree, true); status != http.StatusAccepted {
		t.Fatalf("deprovision r2: %d %s", status, body)
	}
	if state, _ := h.waitOperation("r2"); state != "succeeded" && state != "gone" {
		t.Fatalf("deprovision r2 ended %s", state)
	}
	if status, body := h.do("PUT", "/v2/service_instances/f1?accepts_incomplete=true", provisionBody(redisService, brokenPlan)); status != http.StatusAccepted {
		t.Fatalf("provision f1: %d %s", status, body)
	}
	if state, _ := h.waitOperation("f1"); state != "failed" {
		t.Fatalf("the provision of the broken plan ended %s", state)
	}
	// The tiny plan is full: a refusal, not an operation.
	if status, _ := h.do("PUT", "/v2/service_instances/r4?accepts_incomplete=true", provisionBody(redisService, redisTiny)); status != http.StatusUnprocessableEntity {
		t.Fatalf("a second instance of the tiny plan: %d, want 422", status)
	}
	if status, _ := h.do("GET", "/v2/no_such_endpoint/r1", nil); status != http.StatusNotFound {
		t.Fatalf("an unknown route: %d, want 404", status)
	}

	if _, err := metricstest.Get(http.DefaultClient, h.URL+"/metrics", "", ""); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a scrape without credentials: %v, want 401", err)
	}
	s, err := metricstest.Get(http.DefaultClient, h.URL+"/metrics", brokertest.Username, brokertest.Password)
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, c := range h.Containers(t) {
		if c.Running {
			running++
		}
	}
	free := map[string]string{"service": "redis32", "plan": "free"}
	tiny := map[string]string{"service": "redis32", "plan": "tiny"}
	broken := map[string]string{"service": "redis32", "plan": "broken"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		// The state file: r1 and r3 ready, f1's record failed (until the platform deletes it).
		{"docker_broker_instances", nil, 3},
		{"docker_broker_instances", with(free, "state", "ready"), 1},
		{"docker_broker_instances", with(tiny, "state", "ready"), 1},
		{"docker_broker_instances", with(broken, "state", "failed"), 1},
		{"docker_broker_bindings", nil, 1},
		{"docker_broker_bindings", tiny, 1},
		{"docker_broker_capacity_used", map[string]string{"scope": "broker"}, 2},
		{"docker_broker_capacity_limit", map[string]string{"scope": "broker"}, 5},
		{"docker_broker_capacity_used", with(tiny, "scope", "plan"), 1},
		{"docker_broker_capacity_limit", with(tiny, "scope", "plan"), 1},
		// The engine: the containers of r1 and r3, without a HEALTHCHECK in their image.
		{"docker_broker_engine_up", nil, 1},
		{"docker_broker_containers", nil, float64(len(h.Containers(t)))},
		{"docker_broker_containers", map[string]string{"state": "running", "health": "none"}, float64(running)},
		{"docker_broker_containers", with(tiny, "state", "running"), 1},
		// What happened.
		{"docker_broker_operation_duration_seconds", map[string]string{"kind": "provision", "outcome": "succeeded"}, 3},
		{"docker_broker_operation_duration_seconds", with(broken, "kind", "provision", "outcome", "failed"), 1},
		{"docker_broker_operation_duration_seconds", map[string]string{"kind": "bind", "outcome": "succeeded"}, 2},
		{"docker_broker_operation_duration_seconds", with(free, "kind", "unbind", "outcome", "succeeded"), 1},
		{"docker_broker_operation_duration_seconds", with(free, "kind", "deprovision", "outcome", "succeeded"), 1},
		{"docker_broker_operation_duration_seconds", map[string]string{"outcome": "failed"}, 1},
		{"docker_broker_http_request_duration_seconds", map[string]string{"method": "PUT", "route": "/v2/service_instances/{instance_id}", "code": "202"}, 4},
		{"docker_broker_http_request_duration_seconds", map[string]string{"method": "PUT", "route": "/v2/service_instances/{instance_id}", "code": "422"}, 1},
		{"docker_broker_http_request_duration_seconds", map[string]string{"method": "PUT", "route": "/v2/service_instances/{instance_id}/service_bindings/{binding_id}", "code": "201"}, 2},
		{"docker_broker_http_request_duration_seconds", map[string]string{"method": "DELETE", "route": "/v2/service_instances/{instance_id}/service_bindings/{binding_id}", "code": "200"}, 1},
		{"docker_broker_http_request_duration_seconds", map[string]string{"method": "GET", "route": "unmatched", "code": "404"}, 1},
		{"docker_broker_http_request_duration_seconds", map[string]string{"route": "/metrics", "code": "401"}, 1},
	} {
		if got := s.Sum(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if running != 2 {
		t.Errorf("%d containers run, want those of r1 and r3", running)
	}

	// No id and no secret in a label: routes are templates.
	secrets := []string{"r1", "r3", "b1", "b2", "f1", brokertest.Password, c1.Password, c2.Password}
	for _, value := range s.LabelValues() {
		for _, secret := range secrets {
			if strings.Contains(value, "/"+secret) || value == secret {
				t.Errorf("label value %q holds %q", value, secret)
			}
		}
	}
}
