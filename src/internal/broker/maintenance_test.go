package broker

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// publishedMaintenance is the maintenance_info of planID in the broker's OSB catalog.
func (e *env) publishedMaintenance(planID string) osbapi.MaintenanceInfo {
	e.t.Helper()
	raw, err := e.b.Catalog(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var cat struct {
		Services []struct {
			Plans []struct {
				ID              string                  `json:"id"`
				MaintenanceInfo *osbapi.MaintenanceInfo `json:"maintenance_info"`
			} `json:"plans"`
		} `json:"services"`
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		e.t.Fatal(err)
	}
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			if p.ID == planID {
				if p.MaintenanceInfo == nil {
					e.t.Fatalf("plan %s has no maintenance_info in the catalog", planID)
				}
				return *p.MaintenanceInfo
			}
		}
	}
	e.t.Fatalf("plan %s is not in the catalog", planID)
	return osbapi.MaintenanceInfo{}
}

func (e *env) upgrade(id, version string) (osbapi.OperationResponse, error) {
	return e.b.Update(context.Background(), osbapi.UpdateRequest{InstanceID: id, AcceptsIncomplete: true, ServiceID: svcRedis, MaintenanceInfo: &osbapi.MaintenanceInfo{Version: version}})
}

// A tag bump in the services file is offered as an upgrade after a restart: the plan's version
// goes up by itself, an upgrade to it recreates the container on the new image, and a platform
// that asks for the version of before (its catalog is stale) is refused.
func TestTagBumpIsAnUpgrade(t *testing.T) {
	const bumped = "frodenas/redis:3.2.12"
	e := newEnv(t, nil)
	// planFree has no maintenance_info in its file: it gets one all the same.
	first := e.publishedMaintenance(planFree)
	if first.Version != "1.0.0" || !strings.HasPrefix(first.Description, imgRedis+", container spec ") {
		t.Fatalf("maintenance_info of a plan without one in its file: %+v", first)
	}
	before := e.mustProvision("i1", svcRedis, planFree, "")
	if before.MaintenanceInfo != "1.0.0" {
		t.Errorf("instance provisioned with maintenance version %q, want 1.0.0", before.MaintenanceInfo)
	}
	e.restart()
	if again := e.publishedMaintenance(planFree); again != first {
		t.Errorf("a restart with the same plan published %+v, was %+v", again, first)
	}

	e.cfg.Catalog = loadCatalog(t)
	plan(e.cfg.Catalog, planFree).Container.Tag = "3.2.12"
	e.engine.addImage(bumped, "6379/tcp")
	e.restart()
	published := e.publishedMaintenance(planFree)
	if published.Version != "1.0.1" || !strings.HasPrefix(published.Description, bumped+", container spec ") {
		t.Fatalf("after the tag bump: %+v, want 1.0.1 naming %s", published, bumped)
	}
	if tiny := e.publishedMaintenance(planTiny); tiny.Version != "1.1.0" {
		t.Errorf("an unchanged plan went to version %s, want its file's 1.1.0", tiny.Version)
	}
	old := e.container("i1")
	if old.Image != imgRedis || e.instance("i1").MaintenanceInfo != "1.0.0" {
		t.Fatalf("the restart changed the instance: image %s, version %s", old.Image, e.instance("i1").MaintenanceInfo)
	}
	// Nothing but a context: no upgrade behind the user's back.
	if resp, err := e.update("i1", "", "", true); err != nil || resp.Async {
		t.Errorf("context-only update: %+v %v, want a no-op", resp, err)
	}
	_, err := e.upgrade("i1", "1.0.0")
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeMaintenanceInfoConflict, "1.0.0", "1.0.1")
	if c := e.container("i1"); c.ID != old.ID {
		t.Fatal("a refused or empty update recreated the container")
	}

	resp, err := e.upgrade("i1", "1.0.1")
	if err != nil || !resp.Async {
		t.Fatalf("upgrade: %+v %v", resp, err)
	}
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != "succeeded" {
		t.Fatalf("upgrade: %+v", lo)
	}
	c := e.container("i1")
	if c.ID == old.ID || c.Image != bumped {
		t.Errorf("after the upgrade: container %s on %s, want a new one on %s", c.ID, c.Image, bumped)
	}
	after := e.instance("i1")
	if after.MaintenanceInfo != "1.0.1" || after.Credentials != before.Credentials || hostPort(t, after, "6379/tcp") != hostPort(t, before, "6379/tcp") {
		t.Errorf("record after the upgrade: %+v", after)
	}
	if got, err := e.b.GetInstance(context.Background(), "i1"); err != nil || got.MaintenanceInfo == nil || got.MaintenanceInfo.Version != "1.0.1" {
		t.Errorf("GET instance after the upgrade: %+v %v", got, err)
	}
	creates := e.engine.createCount("")
	if resp, err := e.upgrade("i1", "1.0.1"); err != nil || resp.Async || e.engine.createCount("") != creates {
		t.Errorf("upgrading again to the same version: %+v %v, want a no-op", resp, err)
	}

	// The services file's version stays the operator's: raising it by hand wins.
	e.cfg.Catalog = loadCatalog(t)
	plan(e.cfg.Catalog, planFree).Container.Tag = "3.2.12"
	plan(e.cfg.Catalog, planTiny).MaintenanceInfo.Version = "2.0.0"
	e.restart()
	if v := e.publishedMaintenance(planFree).Version; v != "1.0.1" {
		t.Errorf("plan free at %s after a restart without change, want 1.0.1", v)
	}
	if v := e.publishedMaintenance(planTiny).Version; v != "2.0.0" {
		t.Errorf("plan tiny at %s after its file's version was raised to 2.0.0", v)
	}
}

// An instance provisioned before its plan had a maintenance_info has none: the platform shows
// "upgrade available" (its version differs from the plan's), and upgrading to the plan's version
// adopts the container it has, which is already the plan's.
func TestInstanceWithoutMaintenanceInfoUpgradesInPlace(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planFree, "")
	inst := e.instance("i1")
	inst.MaintenanceInfo = ""
	if err := e.store.PutInstance(inst); err != nil {
		t.Fatal(err)
	}
	old := e.container("i1")
	if _, err := e.upgrade("i1", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != "succeeded" {
		t.Fatalf("upgrade: %+v", lo)
	}
	if c := e.container("i1"); c.ID != old.ID || e.engine.createCount("") != 1 {
		t.Errorf("the upgrade replaced the container (%s, was %s; %d creates)", c.ID, old.ID, e.engine.createCount(""))
	}
	if v := e.instance("i1").MaintenanceInfo; v != "1.0.0" {
		t.Errorf("instance at version %q after the upgrade, want 1.0.0", v)
	}
}
