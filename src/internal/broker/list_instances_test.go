package broker

import (
	"context"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// The operator's instance list shows each instance's plan, version and last operation, an
// upgrade's new version once it succeeded, and nothing secret.
func TestListInstancesShowsVersionsAndOperations(t *testing.T) {
	const bumped = "frodenas/redis:3.2.12"
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planFree, "")
	e.mustProvision("i2", svcRedis, planFree, "")
	e.cfg.Catalog = loadCatalog(t)
	plan(e.cfg.Catalog, planFree).Container.Tag = "3.2.12"
	e.engine.addImage(bumped, "6379/tcp")
	e.restart()
	if _, err := e.upgrade("i2", "1.0.1"); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()

	list, err := e.b.ListInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []osbapi.AdminInstance{
		{ID: "i1", ServiceID: svcRedis, PlanID: planFree, MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.0"}, Provisioned: true,
			LastOperation: osbapi.AdminLastOperation{Type: "provision", State: "succeeded"}},
		{ID: "i2", ServiceID: svcRedis, PlanID: planFree, MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.1"}, Provisioned: true,
			LastOperation: osbapi.AdminLastOperation{Type: "update", State: "succeeded"}},
	}
	if len(list) != len(want) {
		t.Fatalf("listed %+v, want %+v", list, want)
	}
	for i := range want {
		if got := list[i]; got.ID != want[i].ID || got.ServiceID != want[i].ServiceID || got.PlanID != want[i].PlanID ||
			*got.MaintenanceInfo != *want[i].MaintenanceInfo || got.Provisioned != want[i].Provisioned || got.LastOperation != want[i].LastOperation {
			t.Errorf("instance %d: %+v, want %+v", i, got, want[i])
		}
	}
}
