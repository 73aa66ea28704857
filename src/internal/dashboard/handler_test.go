package dashboard

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// fakeSource is a fleet of two instances, one failed, with an orphan.
type fakeSource struct {
	instances []Instance
	logs      map[string][]string
	stateErr  error
	nodes     []metrics.Node // none: a plain engine
}

func (f *fakeSource) MetricsState(context.Context) (metrics.Snapshot, error) {
	snap := metrics.Snapshot{
		Capacity: metrics.Capacity{Used: 2, Limit: 4},
		Plans: []metrics.Plan{
			{Service: "redis", Plan: "small", Capacity: metrics.Capacity{Used: 1, Limit: 1}},
			{Service: "postgresql", Plan: "standard", Capacity: metrics.Capacity{Used: 1}},
		},
		Nodes: f.nodes,
	}
	for _, inst := range f.instances {
		snap.Instances = append(snap.Instances, metrics.Instance{Service: inst.Service, Plan: inst.Plan, State: inst.State})
	}
	return snap, f.stateErr
}

func (f *fakeSource) DashboardInstances(context.Context) ([]Instance, error) {
	return f.instances, nil
}

func (f *fakeSource) DashboardInstance(_ context.Context, id string, _ int) (InstanceDetail, bool, error) {
	for _, inst := range f.instances {
		if inst.ID == id {
			return InstanceDetail{Instance: inst, Log: f.logs[id]}, true, nil
		}
	}
	return InstanceDetail{}, false, nil
}

func (f *fakeSource) Orphans(context.Context) (osbapi.Orphans, error) {
	return osbapi.Orphans{ContainersWithoutRecord: []string{"cf-gone"}}, nil
}

func newFakeSource() *fakeSource {
	created := time.Now().Add(-3 * time.Hour)
	return &fakeSource{
		instances: []Instance{
			{ID: "cache-1", Name: "<script>alert(1)</script>", Service: "redis", Plan: "small", Org: "org-a", Space: "dev",
				State: "ready", Container: "running", Health: "healthy", Ports: []Port{{Container: "6379/tcp", Host: "26601"}},
				Image: "redis:7", Running: "1.0.0", Latest: "1.1.0", CreatedAt: created,
				Operation: Operation{Kind: "provision", State: "succeeded", StartedAt: created}},
			{ID: "db-1", Service: "postgresql", Plan: "standard", Org: "org-b", Space: "prod",
				State: "failed", Image: "postgres:17", Running: "1.0.0", Latest: "1.0.0", CreatedAt: created,
				Operation: Operation{Kind: "provision", State: "failed", Description: "the container did not become healthy", StartedAt: created.Add(time.Minute)}},
		},
		logs: map[string][]string{"cache-1": {"Ready to accept connections", "password=[redacted]"}},
	}
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFleetPageShowsEveryInstanceCountsCapacityFailuresAndOrphans(t *testing.T) {
	res, body := get(t, Handler(newFakeSource(), quietLog()), "/dashboard")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	for _, want := range []string{
		`id="count-total">2<`, `id="count-ready">1<`, `id="count-failed">1<`, `id="count-provisioning">0<`,
		`max="4"`, `value="2"`, // the broker's capacity bar
		`redis / small`, `postgresql / standard`, `(no limit)`,
		`href="/dashboard/instances/cache-1"`, `href="/dashboard/instances/db-1"`,
		`26601&rarr;6379/tcp`, `redis:7`, `1.0.0 &rarr; 1.1.0`, `3h`,
		`the container did not become healthy`, `cf-gone`,
		`<meta http-equiv="refresh" content="10">`, `href="/dashboard?refresh=off"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("an instance name reached the page unescaped")
	}
	if strings.Count(body, `class="upgrade"`) != 1 {
		t.Errorf("want one upgrade badge (cache-1 only), got %d", strings.Count(body, `class="upgrade"`))
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not forbid scripts", csp)
	}
}

func TestFleetPageFiltersByServicePlanAndState(t *testing.T) {
	h := Handler(newFakeSource(), quietLog())
	for query, want := range map[string]string{"state=failed": "db-1", "service=redis": "cache-1", "plan=standard&state=failed": "db-1"} {
		_, body := get(t, h, "/dashboard?"+query)
		table := body[strings.Index(body, `<table id="instances">`):strings.Index(body, "</table>")]
		if rows := strings.Count(table, `<tr data-state=`); rows != 1 || !strings.Contains(table, "/dashboard/instances/"+want) {
			t.Errorf("?%s: %d rows, want %s alone", query, rows, want)
		}
	}
	_, body := get(t, h, "/dashboard?state=updating")
	if !strings.Contains(body, "no instance matches the filter") {
		t.Error("an empty filter result says nothing")
	}
}

// onSwarm makes the fleet a swarm's: cache-1 on vm-1, db-1 on vm-2, which is down.
func (f *fakeSource) onSwarm() *fakeSource {
	f.nodes = []metrics.Node{
		{Name: "vm-1", ID: "n1", Address: "10.0.0.11", State: "ready", Up: true, Instances: metrics.Capacity{Used: 1, Limit: 10}, MemoryReserved: 512 << 20, Memory: 4 << 30},
		{Name: "vm-2", ID: "n2", Address: "10.0.0.12", State: "down", Instances: metrics.Capacity{Used: 1, Limit: 10}, MemoryReserved: 1 << 30, Memory: 8 << 30},
	}
	f.instances[0].Node, f.instances[0].Host = "vm-1", "10.0.0.11"
	f.instances[1].Node, f.instances[1].Host, f.instances[1].State = "vm-2", "10.0.0.12", "node down"
	return f
}

// table is the fleet page's table of instances.
func table(body string) string {
	return body[strings.Index(body, `<table id="instances">`):strings.Index(body, "</table>")]
}

func TestFleetPageOnASwarmShowsEachInstancesNodeAndEveryNodesCapacity(t *testing.T) {
	h := Handler(newFakeSource().onSwarm(), quietLog())
	_, body := get(t, h, "/dashboard")
	for _, want := range []string{
		`<th>node</th>`, `<td data-label="node"><div>vm-1<div class="id">10.0.0.11</div>`, `<select name="node">`,
		`id="count-node-down">1<`, `<span class="state state-node-down">node down</span>`,
		`<li class="node" data-node="vm-1">`, `<li class="node node-down" data-node="vm-2">`,
		`<span class="state state-down">down</span>`, `href="/dashboard?node=vm-2"`,
		`max="10" high="8" optimum="0" value="1"`,                              // instances against the per-node maximum
		`max="8192" high="6553.6" optimum="0" value="1024"`, `1024 / 8192 MiB`, // memory reserved against vm-2's
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %s", want)
		}
	}
	_, body = get(t, h, "/dashboard?node=vm-2")
	if rows := table(body); strings.Count(rows, `<tr data-state=`) != 1 || !strings.Contains(rows, "/dashboard/instances/db-1") {
		t.Errorf("?node=vm-2 does not show db-1 alone:\n%s", rows)
	}
	if _, body := get(t, h, "/dashboard/instances/db-1"); !strings.Contains(body, "<dt>node</dt><dd>vm-2 <code>10.0.0.12</code></dd>") {
		t.Error("the instance page does not name the instance's node and its address")
	}
}

func TestFleetPageOnAPlainEngineHasNoNodeColumnNorNodeBars(t *testing.T) {
	h := Handler(newFakeSource(), quietLog())
	_, body := get(t, h, "/dashboard")
	for _, unwanted := range []string{`<th>node</th>`, `data-label="node"`, `name="node"`, `id="nodes"`, `node down`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("the fleet page of a plain engine has %s", unwanted)
		}
	}
	if _, body := get(t, h, "/dashboard/instances/cache-1"); strings.Contains(body, "<dt>node</dt>") {
		t.Error("the instance page of a plain engine names a node")
	}
}

func TestTheFleetPageWithATrailingSlashLeadsToTheFleetPageWithItsFilter(t *testing.T) {
	h := Handler(newFakeSource(), quietLog())
	for path, want := range map[string]string{"/dashboard/": "/dashboard", "/dashboard/?state=failed": "/dashboard?state=failed"} {
		res, _ := get(t, h, path)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != want {
			t.Errorf("%s: status %d to %q, want %d to %s", path, res.StatusCode, res.Header.Get("Location"), http.StatusMovedPermanently, want)
		}
	}
}

func TestRefreshCanBePausedAndStaysPausedThroughTheFilter(t *testing.T) {
	_, body := get(t, Handler(newFakeSource(), quietLog()), "/dashboard?refresh=off&state=ready")
	if strings.Contains(body, `http-equiv="refresh"`) {
		t.Error("a paused page still refreshes")
	}
	if !strings.Contains(body, `href="/dashboard?state=ready"`) || !strings.Contains(body, `name="refresh" value="off"`) {
		t.Error("the paused page neither offers to resume with its filter nor keeps the pause through the filter form")
	}
}

func TestInstancePageShowsTheLogAndAnUnknownInstanceIsNotFound(t *testing.T) {
	h := Handler(newFakeSource(), quietLog())
	res, body := get(t, h, "/dashboard/instances/cache-1")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Ready to accept connections\npassword=[redacted]") || !strings.Contains(body, "26601&rarr;6379/tcp") {
		t.Errorf("instance page (%d) lacks its log or ports:\n%s", res.StatusCode, body)
	}
	if res, _ := get(t, h, "/dashboard/instances/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown instance: status %d, want 404", res.StatusCode)
	}
}

func TestStyleSheetIsServedAndNothingElseOfTheAssets(t *testing.T) {
	h := Handler(newFakeSource(), quietLog())
	res, body := get(t, h, "/dashboard/style.css")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, "@media") {
		t.Errorf("style.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ := get(t, h, "/dashboard/fleet.html"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a template is served: %d", res.StatusCode)
	}
}

func TestAFleetThatCannotBeReadIsA500WithoutDetails(t *testing.T) {
	src := newFakeSource()
	src.stateErr = errors.New("open /var/vcap/store/state.db: permission denied")
	res, body := get(t, Handler(src, quietLog()), "/dashboard")
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(body, "state.db") {
		t.Errorf("status %d, body %q: want 500 without the error's details", res.StatusCode, body)
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for ago, want := range map[time.Duration]string{30 * time.Second: "30s", 5 * time.Minute: "5m", 3 * time.Hour: "3h", 50 * time.Hour: "2d", -time.Second: "0s"} {
		if got := age(now, now.Add(-ago)); got != want {
			t.Errorf("age %v = %q, want %q", ago, got, want)
		}
	}
	if age(now, time.Time{}) != "" {
		t.Error("an unknown time has an age")
	}
}
