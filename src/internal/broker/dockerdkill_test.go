package broker_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
)

// TestDockerdKilledMidProvisionLeavesNothing is the orphan case of issue 8: dockerd is killed
// with two provisions in flight. They fail, and once docker-supervisor has dockerd back (which
// restarts their containers: restart policy "always"), the broker removes the containers and
// directories their clean-up could not remove while the engine was down.
func TestDockerdKilledMidProvisionLeavesNothing(t *testing.T) {
	h := newHarness(t, func(c *broker.Config) { c.HousekeepingInterval = 500 * time.Millisecond })
	ids := []string{"pgkill1", "pgkill2"}
	for _, id := range ids {
		if status, body := h.do("PUT", "/v2/service_instances/"+id+"?accepts_incomplete=true", provisionBody(postgresService, postgresFree)); status != 202 {
			t.Fatalf("provision %s: %d %s", id, status, body)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for len(h.Containers(t)) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatal("the containers were not created within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid, err := h.Docker.DockerdPid()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if state, description := h.waitOperation(id); state != "failed" {
			t.Errorf("provision %s ended %s (%s), want failed", id, state, description)
		}
	}
	if err := h.Docker.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(2 * time.Minute)
	for {
		left := []string{}
		containers := h.Containers(t)
		for _, id := range ids {
			if _, err := os.Stat(filepath.Join(h.Config.DataDir, "cf-"+id)); err == nil {
				left = append(left, "directory of "+id)
			}
			if _, ok := containers[id]; ok {
				left = append(left, "container of "+id)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after dockerd came back, still there: %v\nbroker log:\n%s", left, h.Logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
