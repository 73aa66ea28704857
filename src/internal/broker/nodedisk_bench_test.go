package broker_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/nodedisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// BenchmarkProvisionOnTheNodeDisk compares a provision to ready of a plan with a volume, a
// secret file, a config file and a non-root user, on the broker's own disk and on the node disk
// (whose helper containers do the directory work; the node's helper is kept between
// operations), one at a time.
func BenchmarkProvisionOnTheNodeDisk(b *testing.B) {
	local := startHarness(b, []byte(nodeDiskServices), nil)
	node := startHarness(b, []byte(nodeDiskServices), func(c *broker.Config) {
		cfg := nodedisk.OnEngine(testenv.Docker(b).Engine, filepath.Join(b.TempDir(), "node"), "", "redis:7")
		cfg.KeepHelpers = true
		disk, err := nodedisk.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = disk.Close() })
		c.Disk = disk
	})
	const rounds = 5
	provisions := func(h *harness, prefix string) time.Duration {
		start := time.Now()
		for i := range rounds {
			status, body := h.do("PUT", fmt.Sprintf("/v2/service_instances/%s-%d", prefix, i), provisionBody("nd-redis", "nd-redis-plan"))
			if status != http.StatusCreated {
				b.Fatalf("provision: %d %s", status, body)
			}
		}
		return time.Since(start) / rounds
	}
	// The engine's first container of an image is slower; warm both up untimed.
	provisions(local, "warm-local")
	provisions(node, "warm-node")
	b.ResetTimer()
	// The ratio reported is that of the totals: one round slowed down by whatever else the
	// machine does weighs no more than its share.
	var allLocal, allNode time.Duration
	for n := range b.N {
		onLocal, onNode := provisions(local, fmt.Sprintf("local-%d", n)), provisions(node, fmt.Sprintf("node-%d", n))
		allLocal, allNode = allLocal+onLocal, allNode+onNode
		b.Logf("provision to ready: broker's disk %s, node disk %s, ratio %.2f", onLocal.Round(time.Millisecond), onNode.Round(time.Millisecond), float64(onNode)/float64(onLocal))
	}
	b.ReportMetric(float64(allNode)/float64(allLocal), "ratio")
}
