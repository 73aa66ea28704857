package broker_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// TestOrphansReportsWhatRecordsAndEngineDisagreeOnAndChangesNothing makes each kind of orphan
// on a real dockerd behind a running broker's back -- a container whose record is lost, a
// directory of no instance, an instance whose container was removed -- and reads GET
// /admin/orphans as the orphan-report errand does: all three are reported, the healthy
// instance is not, and the report leaves containers, records and directories as they were
// (unlike the reconciliation at start, which would recreate the missing container).
func TestOrphansReportsWhatRecordsAndEngineDisagreeOnAndChangesNothing(t *testing.T) {
	h := newHarness(t, func(c *broker.Config) { c.PortRange = [2]int{25200, 25299} })
	ctx := context.Background()
	for _, id := range []string{"healthy", "forgotten", "removed"} {
		h.provision(id, redisService, redisFree)
	}
	client := osbclient.New(osbclient.Config{URL: h.URL, Username: brokertest.Username, Password: brokertest.Password})
	if orphans, err := client.Orphans(ctx); err != nil || orphans.Any() {
		t.Fatalf("before anything was orphaned: %+v, %v", orphans, err)
	}

	if err := h.Store.DeleteInstance("forgotten", nil); err != nil { // a state file that lost it
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(h.Config.DataDir, "cf-stray"), 0o700); err != nil {
		t.Fatal(err)
	}
	containers := h.Containers(t)
	if err := h.Docker.Engine.RemoveContainer(ctx, containers["removed"].ID); err != nil {
		t.Fatal(err)
	}
	before := h.Containers(t)
	records, err := h.Store.Instances()
	if err != nil {
		t.Fatal(err)
	}
	reconciliation, _ := h.Broker.Broker.Reconciliation(ctx)

	orphans, err := client.Orphans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := osbapi.Orphans{
		ContainersWithoutRecord:  []string{"cf-forgotten"},
		DirectoriesWithoutRecord: []string{"cf-forgotten", "cf-stray"},
		RecordsWithoutContainer:  []string{"removed"},
	}
	if !slices.Equal(orphans.ContainersWithoutRecord, want.ContainersWithoutRecord) ||
		!slices.Equal(orphans.DirectoriesWithoutRecord, want.DirectoriesWithoutRecord) ||
		!slices.Equal(orphans.RecordsWithoutContainer, want.RecordsWithoutContainer) || !orphans.Any() || orphans.At.IsZero() {
		t.Errorf("orphans %+v, want %+v", orphans, want)
	}

	// Nothing changed: the same containers in the same state, the same records, the
	// directories still there, the start's reconciliation report untouched.
	after := h.Containers(t)
	if len(after) != len(before) {
		t.Errorf("containers after the report: %v, before: %v", after, before)
	}
	for id, c := range before {
		if a, ok := after[id]; !ok || a.ID != c.ID || a.Running != c.Running {
			t.Errorf("container of %s changed: %+v, was %+v", id, a, c)
		}
	}
	if _, ok := after["removed"]; ok {
		t.Error("the report recreated the removed container")
	}
	if recordsAfter, err := h.Store.Instances(); err != nil || len(recordsAfter) != len(records) {
		t.Errorf("records after the report: %d (%v), before: %d", len(recordsAfter), err, len(records))
	}
	for _, dir := range []string{"cf-forgotten", "cf-stray", "cf-removed", "cf-healthy"} {
		if _, err := os.Stat(filepath.Join(h.Config.DataDir, dir)); err != nil {
			t.Errorf("directory %s: %v", dir, err)
		}
	}
	if again, _ := h.Broker.Broker.Reconciliation(ctx); again.(broker.Reconciliation).At != reconciliation.(broker.Reconciliation).At {
		t.Error("the orphan report replaced the reconciliation report of the start")
	}
}
