package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// renderedConfig is the key of broker.json (metrics, dashboard) as the docker-broker job
// renders it from the properties of the same name.
func renderedConfig(t *testing.T, key string, properties map[string]any) any {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	job, err := boshrelease.LoadJob(filepath.Join(root, "jobs", "docker-broker"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := boshrelease.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	props := map[string]any{"password": "fault-test-password"}
	if properties != nil {
		props[key] = properties
	}
	dst := t.TempDir()
	if err := r.RenderJob(job, boshrelease.TemplateContext{Instance: boshrelease.Instance{Address: "127.0.0.1"}, Properties: props}, dst); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dst, "config/broker.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rendered map[string]any
	if err := json.Unmarshal(data, &rendered); err != nil {
		t.Fatal(err)
	}
	return rendered[key]
}

// scrapeStatus is the status of a scrape of url with those credentials.
func scrapeStatus(t *testing.T, url, username, password string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if username != "" {
		req.SetBasicAuth(username, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The job's defaults serve /metrics on the broker's port behind the broker's credentials.
func TestMetricsAreOnByDefaultBehindTheBrokersCredentials(t *testing.T) {
	metrics := renderedConfig(t, "metrics", nil)
	p := startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["metrics"] = metrics })
	if status := scrapeStatus(t, p.url+"/metrics", "", ""); status != http.StatusUnauthorized {
		t.Errorf("a scrape without credentials: %d, want 401", status)
	}
	s, err := metricstest.Get(http.DefaultClient, p.url+"/metrics", "broker", "fault-test-password")
	if err != nil {
		p.stop(syscall.SIGTERM) // its log is complete, and no longer written, once it has exited
		t.Fatalf("%v\n%s", err, p.log)
	}
	if got := s.Sum("docker_broker_engine_up", nil); got != 1 {
		t.Errorf("docker_broker_engine_up = %v, want 1", got)
	}
	// The catalog requests of the start are counted by route.
	if got := s.Sum("docker_broker_http_request_duration_seconds", map[string]string{"route": "/v2/catalog", "code": "200"}); got < 1 {
		t.Errorf("no catalog request counted")
	}
}

// metrics.port, metrics.username and metrics.password serve /metrics on its own port, to
// Prometheus's credentials only; the broker's port no longer serves it.
func TestMetricsPropertiesServeThemOnTheirOwnPortWithTheirOwnCredentials(t *testing.T) {
	port := freePort(t)
	metrics := renderedConfig(t, "metrics", map[string]any{"port": port, "username": "prometheus", "password": "scrape-password"})
	p := startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["metrics"] = metrics })
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	for _, c := range []struct {
		url, username, password string
		want                    int
	}{
		{url, "prometheus", "scrape-password", http.StatusOK},
		{url, "", "", http.StatusUnauthorized},
		{url, "broker", "fault-test-password", http.StatusUnauthorized},
		{p.url + "/metrics", "broker", "fault-test-password", http.StatusNotFound},
		{p.url + "/metrics", "prometheus", "scrape-password", http.StatusUnauthorized},
	} {
		if status := scrapeStatus(t, c.url, c.username, c.password); status != c.want {
			t.Errorf("GET %s as %q: %d, want %d", c.url, c.username, status, c.want)
		}
	}
	s, err := metricstest.Get(http.DefaultClient, url, "prometheus", "scrape-password")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sum("docker_broker_instances", map[string]string{"service": "redis32", "plan": "free"}); got != 0 {
		t.Errorf("docker_broker_instances of redis32/free = %v, want 0", got)
	}
	if !s.Has("docker_broker_instances", map[string]string{"service": "redis32", "plan": "free", "state": "ready"}) {
		t.Error("no docker_broker_instances series for redis32/free")
	}
	p.stop(syscall.SIGTERM) // its log is complete, and no longer written, once it has exited
	if strings.Contains(p.log.String(), "scrape-password") {
		t.Error("the metrics password is in the broker's log")
	}
}

// metrics.enabled: false serves no /metrics.
func TestMetricsCanBeTurnedOff(t *testing.T) {
	metrics := renderedConfig(t, "metrics", map[string]any{"enabled": false})
	p := startBrokerProcess(t, seedServices(t), func(cfg map[string]any) { cfg["metrics"] = metrics })
	if status := scrapeStatus(t, p.url+"/metrics", "broker", "fault-test-password"); status != http.StatusNotFound {
		t.Errorf("GET /metrics: %d, want 404", status)
	}
}
