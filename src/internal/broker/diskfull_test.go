package broker_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
)

// TestFullDataDiskFailsTheProvision is the crash loop of issue 8 on a real engine: PostgreSQL on
// a data disk without room for its cluster exits at start, and the engine restarts it again and
// again, reporting it "running" in between. The provision must fail and say why, never hand out
// credentials for a service that refuses connections.
func TestFullDataDiskFailsTheProvision(t *testing.T) {
	small := t.TempDir()
	// A 1 MiB file system: initdb needs tens of MiB.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", small).Run() })
	h := newHarness(t, func(c *broker.Config) { c.DataDir = small })

	status, body := h.do("PUT", "/v2/service_instances/pgfull?accepts_incomplete=true", provisionBody(postgresService, postgresFree))
	if status != 202 {
		t.Fatalf("provision: %d %s", status, body)
	}
	state, description := h.waitOperation("pgfull")
	if state != "failed" || !strings.Contains(description, "data disk is full") {
		t.Fatalf("provision on a full disk ended %s: %q, want failed saying the disk is full\nbroker log:\n%s", state, description, h.Logs)
	}
	t.Logf("last_operation: %s", description)
	if _, ok := h.Containers(t)["pgfull"]; ok {
		t.Error("the crash-looping container remains")
	}
}
