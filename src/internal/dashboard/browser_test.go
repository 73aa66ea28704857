package dashboard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics/metricstest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

const (
	serviceID = "5d0c7b2e-3f1a-4c55-9b1e-7a1d2c3b4e01"
	smallPlan = "5d0c7b2e-3f1a-4c55-9b1e-7a1d2c3b4e02"
	chatty    = "5d0c7b2e-3f1a-4c55-9b1e-7a1d2c3b4e03"
	broken    = "5d0c7b2e-3f1a-4c55-9b1e-7a1d2c3b4e04"
)

// chromium is the path of Debian's chromium (scripts/install-prerequisites installs it). Without
// it the test is skipped, except in CI, which must run it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on this machine (CI=true: the dashboard's browser tests are required; scripts/install-prerequisites installs it)")
	}
	t.Skip("skipping: no chromium on this machine (apt-get install chromium, or scripts/install-prerequisites)")
	return ""
}

// browser is a headless Chromium.
func browser(t *testing.T, path string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	opts = append(opts, extra...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	return ctx
}

// sendBasicAuth makes the browser send the dashboard's credentials with every request, as a
// browser does once its user answered the basic-auth prompt.
func sendBasicAuth(t *testing.T, ctx context.Context, username, password string) {
	t.Helper()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(username+":"+password))
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})); err != nil {
		t.Fatalf("starting the browser: %v", err)
	}
}

// screenshot writes the whole page as name (PNG) to the test's artifact directory (go test
// -artifacts -outputdir DIR keeps it: README "Dashboards").
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fetch is the status and body of GET url with basic auth (none when username is empty).
func fetch(t *testing.T, url, username, password string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if username != "" {
		req.SetBasicAuth(username, password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func cfContext(org, space, name string) json.RawMessage {
	ctx, _ := json.Marshal(map[string]string{
		"platform": "cloudfoundry", "organization_guid": org + "-guid", "space_guid": space + "-guid",
		"organization_name": org, "space_name": space, "instance_name": name,
	})
	return ctx
}

// TestTheDashboardShowsWhatTheAPISaysInABrowserWithoutASecret runs a platform's morning on a
// real engine — two instances, a binding, a provision that fails, a stray directory — and then
// looks at the dashboard in headless Chromium: its counts and capacity are the API's (the
// metrics, /admin/instances), the failure and the orphan are listed, the instance page shows
// its container's log with the password it printed redacted, every page asks for the
// dashboard's credentials (not the broker's), and no credential of an instance, a binding, the
// broker or the dashboard is in any page, the style sheet or the broker's log.
func TestTheDashboardShowsWhatTheAPISaysInABrowserWithoutASecret(t *testing.T) {
	chrome := chromium(t)
	services, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	brokertest.LoadStandins(t, services)
	b := brokertest.Start(t, services, func(c *broker.Config) {
		c.PortRange = [2]int{26600, 26699}
		c.MaxContainers = 5
	})
	ctx := context.Background()
	client := osbclient.New(osbclient.Config{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password, PollInterval: 200 * time.Millisecond})
	provision := func(id, plan string, context json.RawMessage) error {
		return client.Provision(ctx, osbapi.ProvisionRequest{InstanceID: id, ServiceID: serviceID, PlanID: plan,
			OrganizationGUID: "org-guid", SpaceGUID: "space-guid", Context: context})
	}
	if err := provision("dash-cache", smallPlan, cfContext("acme", "dev", "orders-cache")); err != nil {
		t.Fatalf("provision dash-cache: %v", err)
	}
	if err := provision("dash-chatty", chatty, cfContext("acme", "prod", "sessions")); err != nil {
		t.Fatalf("provision dash-chatty: %v", err)
	}
	creds, err := client.Bind(ctx, osbapi.BindRequest{InstanceID: "dash-chatty", BindingID: "dash-binding", ServiceID: serviceID, PlanID: chatty, AppGUID: "app-guid"})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	var failed *osbclient.OperationFailedError
	if err := provision("dash-broken", broken, cfContext("acme", "dev", "reports-db")); !errors.As(err, &failed) {
		t.Fatalf("provision of the broken plan: %v, want a failed operation", err)
	}
	if err := os.MkdirAll(filepath.Join(b.Config.DataDir, "cf-dash-stray"), 0o755); err != nil {
		t.Fatal(err)
	}

	// Every secret the test knows of: the instances', the binding's, the broker's and the
	// dashboard's own password.
	secrets := []string{brokertest.Password, brokertest.DashboardPassword}
	for _, id := range []string{"dash-cache", "dash-chatty", "dash-broken"} {
		inst, found, err := b.Store.Instance(id)
		if err != nil || !found || inst.Credentials.Password == "" {
			t.Fatalf("instance %s: found %v, err %v, or no password", id, found, err)
		}
		secrets = append(secrets, inst.Credentials.Password)
	}
	var bound struct{ Password string }
	if err := json.Unmarshal(creds, &bound); err != nil || bound.Password == "" {
		t.Fatalf("binding credentials %s: %v", creds, err)
	}
	secrets = append(secrets, bound.Password)

	// What the API says.
	scrape, err := metricstest.Get(http.DefaultClient, b.URL+"/metrics", brokertest.Username, brokertest.Password)
	if err != nil {
		t.Fatal(err)
	}
	listed, err := client.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// What the browser shows.
	page := browser(t, chrome)
	sendBasicAuth(t, page, brokertest.DashboardUsername, brokertest.DashboardPassword)
	if err := chromedp.Do(page, chromedp.Navigate(b.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#instances"))); err != nil {
		t.Fatalf("opening the fleet page: %v", err)
	}
	shown := func(selector string) string {
		t.Helper()
		text, err := chromedp.Run(page, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("reading %s: %v", selector, err)
		}
		return strings.TrimSpace(text)
	}
	if got, want := shown("#count-total"), strconv.Itoa(len(listed)); got != want {
		t.Errorf("the dashboard counts %s instances, /admin/instances lists %s", got, want)
	}
	for _, state := range []string{"provisioning", "updating", "deprovisioning", "ready", "failed"} {
		want := scrape.Sum("docker_broker_instances", map[string]string{"state": state})
		if got := shown("#count-" + state); got != strconv.Itoa(int(want)) {
			t.Errorf("the dashboard counts %s %s instances, the metrics %v", got, state, want)
		}
	}
	if shown("#count-ready") != "2" || shown("#count-failed") != "1" {
		t.Errorf("want 2 ready and 1 failed after the sequence, the dashboard shows %s and %s", shown("#count-ready"), shown("#count-failed"))
	}
	meter, err := chromedp.Run(page, chromedp.Evaluate[[2]float64](`(() => { const m = document.querySelector(".bars meter"); return [m.value, m.max]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	used, limit := scrape.Sum("docker_broker_capacity_used", map[string]string{"scope": "broker"}), scrape.Sum("docker_broker_capacity_limit", map[string]string{"scope": "broker"})
	if meter[0] != used || meter[1] != limit {
		t.Errorf("the broker's capacity bar shows %v of %v, the metrics %v of %v", meter[0], meter[1], used, limit)
	}
	if rows := shown("#instances tbody"); !strings.Contains(rows, "orders-cache") || !strings.Contains(rows, "acme / prod") || !strings.Contains(rows, "frodenas/redis:3.2") {
		t.Errorf("the fleet table lacks an instance's name, org / space or image:\n%s", rows)
	}
	if orphans := shown("#orphans"); !strings.Contains(orphans, "cf-dash-stray") {
		t.Errorf("the orphans report lacks the stray directory:\n%s", orphans)
	}
	scripts, err := chromedp.Run(page, chromedp.Evaluate[int](`document.scripts.length`))
	if err != nil || scripts != 0 {
		t.Errorf("the fleet page has %d scripts (%v), want none", scripts, err)
	}
	screenshot(t, page, "dashboard-fleet.png")

	if err := chromedp.Do(page, chromedp.Navigate(b.URL+"/dashboard?state=failed&refresh=off"), chromedp.WaitVisible(chromedp.CSS("#instances"))); err != nil {
		t.Fatal(err)
	}
	if rows := shown("#instances tbody"); !strings.Contains(rows, "reports-db") || strings.Contains(rows, "orders-cache") {
		t.Errorf("filtered by state=failed, the table shows:\n%s", rows)
	}

	if err := chromedp.Do(page, chromedp.Navigate(b.URL+"/dashboard/instances/dash-chatty?refresh=off"), chromedp.WaitVisible(chromedp.CSS("#log"))); err != nil {
		t.Fatalf("opening the instance page: %v", err)
	}
	if log := shown("#log"); !strings.Contains(log, "starting with password [redacted]") {
		t.Errorf("the instance page's log does not show the printed password redacted:\n%s", log)
	}
	screenshot(t, page, "dashboard-instance.png")

	if err := chromedp.Do(page, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile), chromedp.Navigate(b.URL+"/dashboard?refresh=off"), chromedp.WaitVisible(chromedp.CSS("#instances"))); err != nil {
		t.Fatal(err)
	}
	overflow, err := chromedp.Run(page, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || overflow {
		t.Errorf("on a phone the fleet page is wider than the screen (%v)", err)
	}
	screenshot(t, page, "dashboard-phone.png")

	// Auth on every page, and no secret in any.
	pages := []string{"/dashboard", "/dashboard/", "/dashboard?state=failed", "/dashboard/style.css", "/dashboard/instances/dash-cache",
		"/dashboard/instances/dash-chatty", "/dashboard/instances/dash-broken", "/dashboard/instances/nope"}
	for _, path := range pages {
		if status, _ := fetch(t, b.URL+path, "", ""); status != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", path, status)
		}
		if status, _ := fetch(t, b.URL+path, brokertest.Username, brokertest.Password); status != http.StatusUnauthorized {
			t.Errorf("GET %s with the broker's credentials: %d, want 401 (the dashboard has its own)", path, status)
		}
		status, body := fetch(t, b.URL+path, brokertest.DashboardUsername, brokertest.DashboardPassword)
		if want := http.StatusOK; path == "/dashboard/instances/nope" {
			if status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", path, status)
			}
		} else if status != want {
			t.Errorf("GET %s: %d, want %d", path, status, want)
		}
		for i, secret := range secrets {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s serves secret #%d", path, i)
			}
		}
	}
	logged := b.Logs.String()
	for i, secret := range secrets {
		if strings.Contains(logged, secret) {
			t.Errorf("the broker's log holds secret #%d", i)
		}
	}
}
