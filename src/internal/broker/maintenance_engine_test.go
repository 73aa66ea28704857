package broker_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// TestTagBumpUpgradesARealInstance runs a tag bump of op-redis74.yml on a real engine, as the
// platform sees it: after the broker's restart the catalog offers a higher maintenance version,
// the platform's stale one is refused, and `cf upgrade-service` (a PATCH with the new one)
// recreates the container on the new tag with the data and the binding's user kept. redis:7 is
// another tag of the same stand-in image: its spec is what changes.
func TestTagBumpUpgradesARealInstance(t *testing.T) {
	services := brokertest.Services(t, "services/op-redis74.yml")
	h := startHarness(t, services, func(c *broker.Config) { c.PortRange = [2]int{22800, 22899} })
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	service, plan := cat.Services[0].ID, cat.Services[0].Plans[0].ID
	const id = "upgraded"
	h.provision(id, service, plan)
	_, c := h.bind(id, "b1", service, plan)
	o := offering{"services/op-redis74.yml", openRedis}
	s := mustOpen(t, o, c)
	mustWrite(t, s, "kept", "across the upgrade")
	s.close()
	if v := publishedVersion(t, h, plan); v != "1.0.0" {
		t.Fatalf("published version %s before the bump, want 1.0.0", v)
	}

	bumped := h.Config.Catalog
	bumped.Services[0].Plans[0].Container.Tag = "7"
	h.Restart()
	if v := publishedVersion(t, h, plan); v != "1.0.1" {
		t.Fatalf("published version %s after the tag bump, want 1.0.1", v)
	}
	upgrade := func(version string) (int, []byte) {
		return h.do("PATCH", "/v2/service_instances/"+id+"?accepts_incomplete=true",
			map[string]any{"service_id": service, "maintenance_info": map[string]any{"version": version}})
	}
	if status, body := upgrade("1.0.0"); status != http.StatusUnprocessableEntity {
		t.Errorf("upgrade with the version of before: %d %s, want 422", status, body)
	}
	if status, body := upgrade("1.0.1"); status != http.StatusAccepted {
		t.Fatalf("upgrade: %d %s, want 202", status, body)
	}
	if state, desc := h.waitOperation(id); state != "succeeded" {
		t.Fatalf("upgrade: %s %s", state, desc)
	}
	if image := h.Containers(t)[id].Image; image != "redis:7" {
		t.Errorf("container on %s after the upgrade, want redis:7", image)
	}
	s = reopen(t, o, c, "after the upgrade")
	defer s.close()
	mustRead(t, s, "kept", "across the upgrade")
}

// publishedVersion is the maintenance_info.version of planID in the broker's catalog.
func publishedVersion(t *testing.T, h *harness, planID string) string {
	t.Helper()
	status, body := h.do("GET", "/v2/catalog", nil)
	if status != http.StatusOK {
		t.Fatalf("catalog: %d %s", status, body)
	}
	var cat struct {
		Services []struct {
			Plans []struct {
				ID              string `json:"id"`
				MaintenanceInfo struct {
					Version string `json:"version"`
				} `json:"maintenance_info"`
			} `json:"plans"`
		} `json:"services"`
	}
	if err := json.Unmarshal(body, &cat); err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			if p.ID == planID {
				return p.MaintenanceInfo.Version
			}
		}
	}
	t.Fatalf("plan %s is not in the catalog", planID)
	return ""
}
