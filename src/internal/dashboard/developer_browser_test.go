package dashboard_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dashboard"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sso"
)

// cfAdmin calls the Cloud Controller stand-in as its admin.
type cfAdmin struct {
	t     *testing.T
	cf    *cfstandin.Server
	http  *http.Client
	token string
}

func loginAsAdmin(t *testing.T, cf *cfstandin.Server, client *http.Client, password string) *cfAdmin {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, cf.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cf", "")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("admin login: %d %v", res.StatusCode, err)
	}
	return &cfAdmin{t: t, cf: cf, http: client, token: tok.AccessToken}
}

// must sends a request, expects status, waits for the job of a 202, and returns the body.
func (a *cfAdmin) must(status int, method, path string, body any) map[string]any {
	a.t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, a.cf.URL+path, reader)
	req.Header.Set("Authorization", "bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	var decoded map[string]any
	_ = json.NewDecoder(res.Body).Decode(&decoded)
	if res.StatusCode != status {
		a.t.Fatalf("%s %s: %d %v, want %d", method, path, res.StatusCode, decoded, status)
	}
	if status == http.StatusAccepted {
		job := strings.TrimPrefix(res.Header.Get("Location"), a.cf.URL)
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
			state := a.must(http.StatusOK, http.MethodGet, job, nil)["state"]
			if state == "COMPLETE" {
				break
			}
			if state == "FAILED" || time.Now().After(deadline) {
				a.t.Fatalf("job %s of %s %s: %v", job, method, path, state)
			}
		}
	}
	return decoded
}

func (a *cfAdmin) guid(body map[string]any) string { return body["guid"].(string) }

func rel(guid string) map[string]any { return map[string]any{"data": map[string]string{"guid": guid}} }

// TestADeveloperSignsOnThroughUAAAndSeesOnlyTheirSpacesInstances registers a broker whose
// offering has a dashboard_client with the Cloud Foundry stand-in, creates an instance in each
// of two orgs through it, and opens both instances' dashboard_url in headless Chromium as a
// developer of the first org only: UAA's login leads back to the first instance's page (status,
// plan, host and ports, its log redacted, no secret), and the second instance's page is refused.
func TestADeveloperSignsOnThroughUAAAndSeesOnlyTheirSpacesInstances(t *testing.T) {
	chrome := chromium(t)
	cf := cfstandin.Start(cfstandin.Options{AdminPassword: "dash-admin-password"})
	t.Cleanup(cf.Close)
	tlsConfig, err := osbclient.TLSTrusting(cf.CACertPEM())
	if err != nil {
		t.Fatal(err)
	}
	cfClient := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig}, Timeout: 30 * time.Second}

	// The developers' dashboard is served where the broker serves it (/manage), by a server of
	// its own whose URL the catalog's redirect_uri names before the broker starts.
	var developerHandler atomic.Pointer[http.Handler]
	developer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*developerHandler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(developer.Close)
	const clientSecret = "dash-dashboard-client-secret"
	raw, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	var services []map[string]any
	if err := json.Unmarshal(raw, &services); err != nil {
		t.Fatal(err)
	}
	services[0]["dashboard_client"] = map[string]any{"id": "dash-redis-dashboard", "secret": clientSecret, "redirect_uri": developer.URL + dashboard.CallbackPath}
	servicesJSON, _ := json.Marshal(services)
	brokertest.LoadStandins(t, servicesJSON)
	b := brokertest.Start(t, servicesJSON, func(c *broker.Config) {
		c.PortRange = [2]int{26700, 26799}
		c.DeveloperDashboard = developer.URL + dashboard.DeveloperPrefix
	})
	signOn := sso.New(sso.Config{CloudController: cf.URL, HTTP: cfClient})
	var handler http.Handler = dashboard.DeveloperHandler(b.Broker, signOn, slog.New(slog.NewJSONHandler(b.Logs, nil)))
	developerHandler.Store(&handler)

	admin := loginAsAdmin(t, cf, cfClient, "dash-admin-password")
	admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_brokers", map[string]any{
		"name": "dash-broker", "url": b.URL,
		"authentication": map[string]any{"type": "basic", "credentials": map[string]string{"username": brokertest.Username, "password": brokertest.Password}},
	})
	var planGUID string
	for _, p := range admin.must(http.StatusOK, http.MethodGet, "/v3/service_plans?names=chatty", nil)["resources"].([]any) {
		planGUID = p.(map[string]any)["guid"].(string)
	}
	admin.must(http.StatusOK, http.MethodPatch, "/v3/service_plans/"+planGUID+"/visibility", map[string]any{"type": "public"})
	dashboardURL := map[string]string{}
	for _, org := range []string{"dash-org-a", "dash-org-b"} {
		orgGUID := admin.guid(admin.must(http.StatusCreated, http.MethodPost, "/v3/organizations", map[string]any{"name": org}))
		spaceGUID := admin.guid(admin.must(http.StatusCreated, http.MethodPost, "/v3/spaces", map[string]any{"name": "dev", "relationships": map[string]any{"organization": rel(orgGUID)}}))
		name := org + "-cache"
		admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_instances", map[string]any{
			"type": "managed", "name": name, "relationships": map[string]any{"space": rel(spaceGUID), "service_plan": rel(planGUID)},
		})
		instances := admin.must(http.StatusOK, http.MethodGet, "/v3/service_instances?names="+name, nil)["resources"].([]any)
		instance := instances[0].(map[string]any)
		dashboardURL[org], _ = instance["dashboard_url"].(string)
		if want := developer.URL + dashboard.DeveloperPrefix + "/instances/" + instance["guid"].(string); dashboardURL[org] != want {
			t.Fatalf("Cloud Foundry has dashboard_url %q for %s, want %q", dashboardURL[org], name, want)
		}
	}
	cf.AddUser("dash-developer", "dash-developer-password")
	if err := cf.AddOrgMember("dash-org-a", "dash-developer"); err != nil {
		t.Fatal(err)
	}

	// Without a session the page is UAA's login, never the instance.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(dashboardURL["dash-org-a"])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if location := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(location, cf.URL+"/oauth/authorize?") {
		t.Errorf("the dashboard without a session: %d to %q, want a redirect to UAA's /oauth/authorize", res.StatusCode, location)
	}

	page := browser(t, chrome, chromedp.Flag("ignore-certificate-errors", true)) // the stand-in's certificate is self-signed
	if err := chromedp.Do(page, chromedp.Navigate(dashboardURL["dash-org-a"]), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "dash-developer"), chromedp.SendKeys(chromedp.CSS("#password"), "dash-developer-password"),
		chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#log"))); err != nil {
		t.Fatalf("signing on to the dashboard through UAA: %v", err)
	}
	html, err := chromedp.Run(page, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dash-org-a-cache", "redis / chatty", "dash-org-a / dev", `<code id="host">127.0.0.1</code>`, "→6379/tcp", "starting with password [redacted]"} {
		if !strings.Contains(html, want) {
			t.Errorf("the developer's page lacks %q", want)
		}
	}
	secrets := []string{clientSecret, "dash-developer-password", brokertest.Password}
	instances, err := b.Store.Instances()
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range instances {
		secrets = append(secrets, inst.Credentials.Password)
	}
	for i, secret := range secrets {
		if strings.Contains(html, secret) {
			t.Errorf("the developer's page holds secret #%d", i)
		}
	}
	screenshot(t, page, "dashboard-developer.png")

	refused, err := chromedp.Run(page, chromedp.NavigateResponse(dashboardURL["dash-org-b"]))
	if err != nil {
		t.Fatal(err)
	}
	if refused.Status != http.StatusForbidden {
		t.Errorf("the instance of an org the developer is no member of: %d, want 403", refused.Status)
	}
	if body, _ := chromedp.Run(page, chromedp.Text(chromedp.CSS("body"))); strings.Contains(body, "dash-org-b-cache") || strings.Contains(body, "6379") {
		t.Errorf("the refusal tells about the other org's instance: %s", body)
	}
	for i, secret := range secrets {
		if strings.Contains(b.Logs.String(), secret) {
			t.Errorf("the broker's log holds secret #%d", i)
		}
	}
}
