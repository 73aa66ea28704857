package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sanitytest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// sanityServices is a `services` property with one offering that has a sanity check.
const sanityServices = `[{"id": "s-redis", "name": "redis32", "description": "Redis",
  "sanity_check": {"command": ["redis-cli", "ping"]},
  "plans": [{"id": "p-free", "name": "free", "description": "Free", "container": {"backend": "docker", "image": "frodenas/redis", "tag": "3.2"}}]}]`

// renderSanityTest renders the sanity-test job and returns its loaded config and bin/run; the
// rendered config also passes `broker-registrar check-config`.
func renderSanityTest(t *testing.T, properties map[string]any, links map[string]boshrelease.Link) (sanitytest.Config, string, error) {
	t.Helper()
	return renderErrandWith(t, "sanity-test", "sanity-test.json", sanitytest.LoadConfig, properties, links)
}

func TestSanityTestErrandTakesTheBrokerAndItsServicesFromTheLink(t *testing.T) {
	var services []any
	if err := json.Unmarshal([]byte(sanityServices), &services); err != nil {
		t.Fatal(err)
	}
	link := brokerLink(map[string]any{"name": "docker-broker", "username": "broker", "password": "broker-secret", "port": 8080, "protocol": "http", "services": services})
	cfg, run, err := renderSanityTest(t, map[string]any{"plans": []string{"redis32/free"}}, map[string]boshrelease.Link{"servicebroker": link})
	if err != nil {
		t.Fatal(err)
	}
	want := osbclient.Endpoint{URL: "http://10.244.0.144:8080", Username: "broker", Password: "broker-secret"}
	if cfg.Broker != want || cfg.DockerSocket != "/var/vcap/sys/run/docker/docker.sock" || len(cfg.Plans) != 1 || !strings.Contains(string(cfg.Services), `"redis-cli"`) {
		t.Errorf("rendered %+v", cfg)
	}
	if !strings.Contains(run, "exec /var/vcap/packages/docker-broker/bin/broker-registrar sanity-test /var/vcap/jobs/sanity-test/config/sanity-test.json") {
		t.Errorf("bin/run does not run the errand:\n%s", run)
	}

	// A plan that is not in the catalog fails check-config, naming the property.
	dst, err := renderJob(t, "sanity-test", map[string]any{"plans": []string{"redis99/free"}}, map[string]boshrelease.Link{"servicebroker": link})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "check-config", filepath.Join(dst, "config", "sanity-test.json")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `plans[0]: "redis99/free" is no plan of the broker's catalog`) {
		t.Errorf("check-config of an unknown plan: %v\n%s", err, out)
	}

	// Without the link, the properties must name the broker and its services.
	props := map[string]any{"servicebroker": map[string]any{"url": "http://10.0.0.5:8080", "username": "broker", "password": "broker-secret"}}
	if _, _, err := renderSanityTest(t, props, nil); err == nil || !strings.Contains(err.Error(), "services is not set") {
		t.Errorf("without a link and without services the rendering must fail naming it, got %v", err)
	}
	props["services"] = services
	if cfg, _, err := renderSanityTest(t, props, nil); err != nil || cfg.Broker.URL != "http://10.0.0.5:8080" {
		t.Errorf("without a link: %+v %v", cfg, err)
	}
}

// TestSanityTestConfigDefaultsAreTheJobs: a config that leaves a key out means what the
// sanity-test job renders for it when the manifest sets nothing.
func TestSanityTestConfigDefaultsAreTheJobs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var services []any
	if err := json.Unmarshal([]byte(sanityServices), &services); err != nil {
		t.Fatal(err)
	}
	mismatches, err := boshrelease.DefaultMismatches(root, "sanity-test", "config/sanity-test.json",
		map[string]any{"services": services, "servicebroker": map[string]any{"url": "http://10.0.0.5:8080", "username": "broker", "password": "broker-secret"}},
		func(path string) (any, error) { return sanitytest.LoadConfig(path) })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}

// TestSanityTestErrandCleansUpWhenStoppedOrKilled runs the errand's program as bosh does: told
// to stop (SIGTERM) while a check runs, it unbinds and deprovisions before it exits non-zero;
// killed (SIGKILL) while a check runs, it leaves its instance, binding and check container, and
// the next run removes them first and passes.
func TestSanityTestErrandCleansUpWhenStoppedOrKilled(t *testing.T) {
	services := brokertest.Services(t, "services/op-redis32.yml")
	b := startBroker(t, services, "sanity-test-broker", [2]int{25300, 25349})
	blocking := writeSanityConfig(t, b, withSanityCheck(t, services, "sleep 3600"))

	out, err := runUntilCheck(t, b, blocking, syscall.SIGTERM)
	t.Logf("stopped:\n%s", out)
	if code := exitCode(t, err); code != 1 {
		t.Errorf("a stopped errand exited with %v, want 1", err)
	}
	for _, want := range []string{"stopped: the errand was told to stop", "unbind", "deprovision"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	requireNoSanityTestLeft(t, b)

	out, err = runUntilCheck(t, b, blocking, syscall.SIGKILL)
	t.Logf("killed:\n%s", out)
	if err == nil {
		t.Fatal("a killed errand exited 0")
	}
	if len(b.Containers(t)) != 1 {
		t.Fatalf("the killed run left %d instance containers, want its one", len(b.Containers(t)))
	}

	cmd := exec.Command(binary(t), "sanity-test", writeSanityConfig(t, b, services))
	output, err := cmd.CombinedOutput()
	t.Logf("after the kill:\n%s", output)
	if err != nil {
		t.Fatalf("the run after the kill failed: %v\nbroker log:\n%s", err, b.Logs)
	}
	if !strings.Contains(string(output), "clean up") || !strings.Contains(string(output), "1 plans passed") {
		t.Error("the run after the kill did not clean up and pass")
	}
	requireNoSanityTestLeft(t, b)
}

// runUntilCheck starts the errand's program on config, sends it sig once a check container
// runs, and returns its output and how it ended.
func runUntilCheck(t *testing.T, b *brokertest.Broker, config string, sig syscall.Signal) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(binary(t), "sanity-test", config)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for !checkContainerRuns(t, b) {
		select {
		case err := <-done:
			t.Fatalf("the errand ended before its check ran: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-done
	return out.String(), err
}

func checkContainerRuns(t *testing.T, b *brokertest.Broker) bool {
	t.Helper()
	containers, err := b.Docker.Engine.ListContainers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if c.Labels[sanitytest.LabelPlan] != "" && c.Running {
			return true
		}
	}
	return false
}

// requireNoSanityTestLeft fails t if the broker has an instance or a container, or the engine a
// check container.
func requireNoSanityTestLeft(t *testing.T, b *brokertest.Broker) {
	t.Helper()
	instances, err := b.Store.Instances()
	if err != nil {
		t.Fatal(err)
	}
	if len(instances) > 0 || len(b.Containers(t)) > 0 {
		t.Errorf("left: %d instances, %d instance containers", len(instances), len(b.Containers(t)))
	}
	containers, err := b.Docker.Engine.ListContainers(context.Background(), map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if c.Labels[sanitytest.LabelPlan] != "" {
			t.Errorf("check container %s is left", c.Name)
		}
	}
}

// writeSanityConfig writes the errand's config for broker b with the catalog services.
func writeSanityConfig(t *testing.T, b *brokertest.Broker, services []byte) string {
	t.Helper()
	data, err := json.Marshal(sanitytest.Config{
		Errand:       sanitytest.ErrandName,
		Broker:       osbclient.Endpoint{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password},
		DockerSocket: b.Docker.Socket,
		Services:     services,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sanity-test.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withSanityCheck gives the first service of services the sanity check `sh -c script`.
func withSanityCheck(t *testing.T, services []byte, script string) []byte {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(services, &list); err != nil {
		t.Fatal(err)
	}
	list[0]["sanity_check"] = map[string]any{"command": []string{"sh", "-c", script}}
	out, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func binary(t *testing.T) string {
	t.Helper()
	path, err := testenv.Binary("broker-registrar")
	if err != nil {
		t.Fatal(err)
	}
	return path
}
