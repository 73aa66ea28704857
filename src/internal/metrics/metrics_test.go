package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// fakeState answers every scrape with snap, or err.
type fakeState struct {
	snap metrics.Snapshot
	err  error
}

func (f *fakeState) MetricsState(context.Context) (metrics.Snapshot, error) { return f.snap, f.err }

// scrape serves m and scrapes it as Prometheus would.
func scrape(t *testing.T, m *metrics.Metrics, log *slog.Logger) metricstest.Scrape {
	t.Helper()
	srv := httptest.NewServer(m.Handler(log))
	t.Cleanup(srv.Close)
	s, err := metricstest.Get(srv.Client(), srv.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func discard() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestTheStateIsCountedByPlanStateAndHealth(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{snap: metrics.Snapshot{
		Plans: []metrics.Plan{
			{Service: "redis", Plan: "small", Capacity: metrics.Capacity{Used: 2, Limit: 10}},
			{Service: "redis", Plan: "large", Capacity: metrics.Capacity{Used: 1}},
			{Service: "postgres", Plan: "small"},
		},
		Capacity: metrics.Capacity{Used: 3, Limit: 4},
		Instances: []metrics.Instance{
			{Service: "redis", Plan: "small", State: "ready", Bindings: 2},
			{Service: "redis", Plan: "small", State: "ready", Bindings: 1},
			{Service: "redis", Plan: "large", State: "provisioning"},
			{Service: "redis", Plan: "large", State: "failed"},
		},
		Containers: []metrics.Container{
			{Service: "redis", Plan: "small", State: "running", Health: "healthy"},
			{Service: "redis", Plan: "small", State: "running", Health: "unhealthy"},
			{Service: "redis", Plan: "large", State: "restarting", Health: "none"},
		},
	}})
	s := scrape(t, m, discard())

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"docker_broker_instances", labels("service", "redis", "plan", "small", "state", "ready"), 2},
		{"docker_broker_instances", labels("service", "redis", "plan", "large", "state", "provisioning"), 1},
		{"docker_broker_instances", labels("service", "redis", "plan", "large", "state", "failed"), 1},
		{"docker_broker_instances", labels("service", "postgres", "plan", "small"), 0},
		{"docker_broker_bindings", labels("service", "redis", "plan", "small"), 3},
		{"docker_broker_bindings", labels("service", "redis", "plan", "large"), 0},
		{"docker_broker_capacity_used", labels("scope", "broker"), 3},
		{"docker_broker_capacity_limit", labels("scope", "broker"), 4},
		{"docker_broker_capacity_used", labels("scope", "plan", "service", "redis", "plan", "small"), 2},
		{"docker_broker_capacity_limit", labels("scope", "plan", "service", "redis", "plan", "small"), 10},
		{"docker_broker_containers", labels("service", "redis", "plan", "small", "state", "running", "health", "healthy"), 1},
		{"docker_broker_containers", labels("service", "redis", "plan", "small", "health", "unhealthy"), 1},
		{"docker_broker_containers", labels("service", "redis", "plan", "large", "state", "restarting"), 1},
		{"docker_broker_engine_up", nil, 1},
	} {
		if got := s.Sum(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every plan has a series for every state, so that a plan's figure falls to 0 rather than
	// vanishing when its last instance goes.
	for _, state := range metrics.InstanceStates {
		if !s.Has("docker_broker_instances", labels("service", "postgres", "plan", "small", "state", state)) {
			t.Errorf("no docker_broker_instances series for postgres/small in state %s", state)
		}
	}
	// No limit, no limit series: a ratio used/limit must not divide by 0.
	if s.Has("docker_broker_capacity_limit", labels("plan", "large")) {
		t.Error("a plan without max_containers has a capacity_limit series")
	}
}

func TestAScrapeWithoutTheEngineSaysSoAndKeepsTheRest(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{snap: metrics.Snapshot{
		Plans:     []metrics.Plan{{Service: "redis", Plan: "small"}},
		Instances: []metrics.Instance{{Service: "redis", Plan: "small", State: "ready"}},
		EngineErr: errors.New("connection refused"),
	}})
	s := scrape(t, m, discard())
	if got := s.Sum("docker_broker_engine_up", nil); got != 0 {
		t.Errorf("engine_up = %v, want 0", got)
	}
	if got := s.Sum("docker_broker_instances", labels("state", "ready")); got != 1 {
		t.Errorf("instances = %v, want 1 (the state file still answers)", got)
	}
	if s.Has("docker_broker_containers", nil) {
		t.Error("container series without an engine")
	}
}

func TestASwarmsNodesAreCountedEachAndInstancesOnANodeDownAreNodeDown(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{snap: metrics.Snapshot{
		Plans: []metrics.Plan{{Service: "redis", Plan: "small"}, {Service: "postgres", Plan: "small"}},
		Instances: []metrics.Instance{
			{Service: "redis", Plan: "small", State: "ready"},
			{Service: "redis", Plan: "small", State: metrics.NodeDown},
		},
		Containers: []metrics.Container{
			{Service: "redis", Plan: "small", State: "running", Health: "none"},
			{Service: "redis", Plan: "small", State: "node down", Health: "none"},
		},
		Nodes: []metrics.Node{
			{Name: "vm-1", ID: "n1", State: "ready", Up: true, Instances: metrics.Capacity{Used: 1, Limit: 10}, MemoryReserved: 256 << 20, Memory: 4 << 30},
			{Name: "vm-2", ID: "n2", State: "down", Instances: metrics.Capacity{Used: 1, Limit: 10}, Memory: 4 << 30},
			{Name: "vm-3", ID: "n3", State: "drained", Up: true, Memory: 2 << 30},
		},
	}})
	s := scrape(t, m, discard())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"docker_broker_node_up", labels("node", "vm-1", "state", "ready"), 1},
		{"docker_broker_node_up", labels("node", "vm-2", "state", "down"), 0},
		{"docker_broker_node_up", labels("node", "vm-3", "state", "drained"), 1},
		{"docker_broker_node_instances", labels("node", "vm-1"), 1},
		{"docker_broker_node_instances", labels("node", "vm-2"), 1},
		{"docker_broker_node_instances_limit", labels("node", "vm-1"), 10},
		{"docker_broker_node_memory_reserved_bytes", labels("node", "vm-1"), 256 << 20},
		{"docker_broker_node_memory_bytes", labels("node", "vm-3"), 2 << 30},
		{"docker_broker_instances", labels("service", "redis", "plan", "small", "state", "ready"), 1},
		{"docker_broker_instances", labels("service", "redis", "plan", "small", "state", "node down"), 1},
		{"docker_broker_containers", labels("service", "redis", "plan", "small", "state", "node down"), 1},
	} {
		if got := s.Sum(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if !s.Has("docker_broker_node_up", labels("node", "vm-2")) {
		t.Error("a node that is down has no node_up series: an alert on node_up == 0 would not fire")
	}
	if !s.Has("docker_broker_instances", labels("service", "postgres", "plan", "small", "state", "node down")) {
		t.Error("a plan without instances has no node down series on a swarm")
	}
	if s.Has("docker_broker_node_instances_limit", labels("node", "vm-3")) {
		t.Error("a node without a maximum has a limit series")
	}
}

func TestAPlainEngineHasNoNodeSeriesNorNodeDownState(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{snap: metrics.Snapshot{
		Plans:     []metrics.Plan{{Service: "redis", Plan: "small"}},
		Instances: []metrics.Instance{{Service: "redis", Plan: "small", State: "ready"}},
	}})
	s := scrape(t, m, discard())
	if s.Has("docker_broker_node_up", nil) || s.Has("docker_broker_instances", labels("state", "node down")) {
		t.Error("a plain engine has node series")
	}
}

func TestNodesTheEngineDidNotListAreLoggedAndTheRestIsServed(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{snap: metrics.Snapshot{
		Plans:     []metrics.Plan{{Service: "redis", Plan: "small"}},
		Instances: []metrics.Instance{{Service: "redis", Plan: "small", State: "ready"}},
		NodesErr:  errors.New("listing swarm nodes: manager unreachable"),
	}})
	logs := &testenv.LogBuffer{}
	s := scrape(t, m, slog.New(slog.NewJSONHandler(logs, nil)))
	if got := s.Sum("docker_broker_instances", labels("state", "ready")); got != 1 {
		t.Errorf("instances = %v, want 1", got)
	}
	if s.Has("docker_broker_node_up", nil) {
		t.Error("node series without the nodes' list")
	}
	if !strings.Contains(logs.String(), "manager unreachable") {
		t.Errorf("the scrape's error is not in the log:\n%s", logs)
	}
}

func TestAStateFileThatCannotBeReadIsLoggedAndTheEventsAreStillServed(t *testing.T) {
	m := metrics.New()
	m.CollectState(&fakeState{err: errors.New("state record instances/x is corrupt")})
	m.OperationEnded("provision", "redis", "small", "failed", 2*time.Second)
	logs := &testenv.LogBuffer{}
	s := scrape(t, m, slog.New(slog.NewJSONHandler(logs, nil)))
	if got := s.Sum("docker_broker_operation_duration_seconds", labels("kind", "provision", "outcome", "failed")); got != 1 {
		t.Errorf("failed provisions = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "state record instances/x is corrupt") {
		t.Errorf("the scrape's error is not in the log:\n%s", logs)
	}
}

func TestEventsAreCountedWithTheirLabels(t *testing.T) {
	m := metrics.New()
	m.OperationEnded("bind", "redis", "small", "succeeded", 30*time.Millisecond)
	m.OperationEnded("bind", "redis", "small", "succeeded", 3*time.Second)
	m.ImagePullFailed("redis:7.4", "fetch_images")
	m.ContainerEvent("redis", "small", "restarted")
	m.RequestServed("PUT", "/v2/service_instances/{instance_id}", 202, time.Millisecond)
	s := scrape(t, m, discard())
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"docker_broker_operation_duration_seconds", labels("kind", "bind", "service", "redis", "plan", "small", "outcome", "succeeded"), 2},
		{"docker_broker_image_pull_failures_total", labels("image", "redis:7.4", "during", "fetch_images"), 1},
		{"docker_broker_container_events_total", labels("service", "redis", "plan", "small", "event", "restarted"), 1},
		{"docker_broker_http_request_duration_seconds", labels("method", "PUT", "route", "/v2/service_instances/{instance_id}", "code", "202"), 1},
	} {
		if got := s.Sum(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	h := s["docker_broker_operation_duration_seconds"].GetMetric()[0].GetHistogram()
	if got := h.GetSampleSum(); got < 3.02 || got > 3.04 {
		t.Errorf("bind durations sum to %v s, want 3.03", got)
	}
	if _, ok := s["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}
