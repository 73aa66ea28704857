package broker

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// The dashboard's views of the fleet: each instance with its names from the context, ports,
// image and whether an upgrade is available; one instance's log with its credentials
// redacted; and a dashboard_url only for an offering with a dashboard_client when the
// developers' dashboard is on.
func TestDashboardViewsShowTheFleetAndRedactTheLog(t *testing.T) {
	const bumped = "frodenas/redis:3.2.12"
	e := newEnv(t, nil)
	req := provisionReq("i1", svcRedis, planFree, true)
	req.Context = []byte(`{"platform":"cloudfoundry","organization_name":"acme","space_name":"dev","instance_name":"orders-cache"}`)
	if _, err := e.provision(req); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	e.mustProvision("i2", svcRedis, planFree, "")
	e.cfg.Catalog = loadCatalog(t)
	plan(e.cfg.Catalog, planFree).Container.Tag = "3.2.12"
	e.engine.addImage(bumped, "6379/tcp")
	e.restart()
	if _, err := e.upgrade("i2", "1.0.1"); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()

	rows, err := e.b.DashboardInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	i1, i2 := rows[0], rows[1]
	if i1.Name != "orders-cache" || i1.Org != "acme" || i1.Space != "dev" || i1.State != "ready" || i1.Container != "running" || len(i1.Ports) != 1 || i1.Image != bumped {
		t.Errorf("i1 shows as %+v", i1)
	}
	if !i1.UpgradeAvailable() || i2.UpgradeAvailable() || i2.Running != "1.0.1" {
		t.Errorf("upgrade available: i1 %v (runs %q of %q), i2 %v; want i1 only", i1.UpgradeAvailable(), i1.Running, i1.Latest, i2.UpgradeAvailable())
	}

	password := e.instance("i1").Credentials.Password
	e.engine.logs = []byte("Ready to accept connections\nrequirepass " + password + "\n")
	detail, found, err := e.b.DashboardInstance(context.Background(), "i1", 10)
	if err != nil || !found {
		t.Fatalf("DashboardInstance: %v %v", found, err)
	}
	if got := strings.Join(detail.Log, "\n"); got != "Ready to accept connections\nrequirepass [redacted]" {
		t.Errorf("log shown as %q", got)
	}
	if _, found, _ := e.b.DashboardInstance(context.Background(), "nope", 10); found {
		t.Error("an unknown instance is found")
	}

	if url := e.b.dashboardURL(planFree, "i1"); url != "" {
		t.Errorf("dashboard_url %q without a developers' dashboard", url)
	}
	e.cfg.DeveloperDashboard = "https://broker.example/manage"
	e.restart()
	if url := e.b.dashboardURL(planFree, "i1"); url != "" {
		t.Errorf("dashboard_url %q for an offering without a dashboard_client", url)
	}
	service, _, _ := e.cfg.Catalog.PlanByID(planFree)
	for i := range e.cfg.Catalog.Services {
		if e.cfg.Catalog.Services[i].ID == service.ID {
			e.cfg.Catalog.Services[i].DashboardClient = &catalog.DashboardClient{ID: "c", Secret: "s", RedirectURI: "https://broker.example/manage/callback"}
		}
	}
	e.restart()
	if url := e.b.dashboardURL(planFree, "i1"); url != "https://broker.example/manage/instances/i1" {
		t.Errorf("dashboard_url %q, want the instance's page", url)
	}
	view, _, err := e.b.DeveloperInstance(context.Background(), "i1", 10)
	if err != nil || view.Client == nil || view.Client.ID != "c" || view.SpaceGUID != e.instance("i1").SpaceGUID {
		t.Errorf("developer view: client %+v, space %q (%v)", view.Client, view.SpaceGUID, err)
	}
}
