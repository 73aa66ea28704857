package cfstandin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordedRequest is what the fake broker saw of one request.
type recordedRequest struct {
	method, path string
	query        url.Values
	header       http.Header
	body         map[string]any
	at           time.Time
}

// osbBroker answers provision and update with 202 and reports "in progress" once (with
// Retry-After: 1) before "succeeded"; everything else succeeds at once. Its plan small has the
// maintenance_info version of version, large none.
type osbBroker struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
	polls    int
	version  string
}

// publish makes version the maintenance_info version of plan small in the broker's catalog.
func (b *osbBroker) publish(version string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.version = version
}

func newOSBBroker(t *testing.T) *osbBroker {
	b := &osbBroker{version: "1.0.0"}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recordedRequest{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), at: time.Now()}
		data, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(data, &rec.body)
		b.mu.Lock()
		b.requests = append(b.requests, rec)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/catalog":
			b.mu.Lock()
			version := b.version
			b.mu.Unlock()
			fmt.Fprintf(w, `{"services":[{"id":"svc","name":"cache","description":"A cache","bindable":true,
				"dashboard_client":{"id":"cache-dashboard","secret":"dashboard-secret","redirect_uri":"https://dash.example/callback"},
				"plans":[{"id":"small","name":"small","description":"Small","maintenance_info":{"version":%q,"description":"cache %s"}},
					{"id":"large","name":"large","description":"Large","free":false}]}]}`, version, version)
		case strings.HasSuffix(r.URL.Path, "/last_operation"):
			b.mu.Lock()
			b.polls++
			first := b.polls == 1
			b.mu.Unlock()
			if first {
				w.Header().Set("Retry-After", "1")
				io.WriteString(w, `{"state":"in progress"}`)
				return
			}
			io.WriteString(w, `{"state":"succeeded"}`)
		case strings.Contains(r.URL.Path, "/service_bindings/") && r.Method == http.MethodPut:
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"credentials":{"password":"from-the-broker"}}`)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"operation":"provision-1"}`)
		case r.Method == http.MethodPatch:
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"operation":"upgrade-1"}`)
		default:
			io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *osbBroker) find(method, pathPart string) []recordedRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	var found []recordedRequest
	for _, r := range b.requests {
		if r.method == method && strings.Contains(r.path, pathPart) {
			found = append(found, r)
		}
	}
	return found
}

// apiClient calls the stand-in as one logged-in user.
type apiClient struct {
	t     *testing.T
	s     *Server
	token string
	http  *http.Client
}

func login(t *testing.T, s *Server, user, password string) *apiClient {
	t.Helper()
	c := &apiClient{t: t, s: s, http: s.httpServer.Client()}
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cf", "")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("login as %s: %d %v", user, resp.StatusCode, err)
	}
	c.token = tok.AccessToken
	return c
}

// do sends a request and returns the status, the Location header and the decoded body.
func (c *apiClient) do(method, path string, body any) (int, string, map[string]any) {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		reader = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.s.URL+path, reader)
	req.Header.Set("Authorization", "bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var decoded map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&decoded)
	return resp.StatusCode, resp.Header.Get("Location"), decoded
}

// must sends a request expecting status and returns the body; for 202 it waits for the
// job and fails the test if the job fails.
func (c *apiClient) must(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	got, location, decoded := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, got, decoded, status)
	}
	if status == http.StatusAccepted {
		c.waitJob(location)
	}
	return decoded
}

// waitJob waits for the job at location to complete and fails the test if it fails.
func (c *apiClient) waitJob(location string) {
	c.t.Helper()
	jobPath := strings.TrimPrefix(location, c.s.URL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, _, job := c.do(http.MethodGet, jobPath, nil)
		if job["state"] == jobComplete {
			return
		}
		if job["state"] == jobFailed || time.Now().After(deadline) {
			c.t.Fatalf("job %s: %v", jobPath, job)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func resources(body map[string]any) []map[string]any {
	var list []map[string]any
	for _, r := range body["resources"].([]any) {
		list = append(list, r.(map[string]any))
	}
	return list
}

func names(body map[string]any) []string {
	var list []string
	for _, r := range resources(body) {
		list = append(list, r["name"].(string))
	}
	return list
}

func rel(guid string) map[string]any { return map[string]any{"data": map[string]string{"guid": guid}} }

// setup registers the broker and creates org "o" with space "s"; it returns the admin's
// client, the plans by name and the space's guid.
func setup(t *testing.T, s *Server, b *osbBroker) (*apiClient, map[string]string, string) {
	admin := login(t, s, "admin", "pw")
	admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_brokers", map[string]any{
		"name": "b", "url": b.URL, "authentication": map[string]any{"type": "basic", "credentials": map[string]string{"username": "u", "password": "p"}},
	})
	plans := map[string]string{}
	for _, p := range resources(admin.must(http.StatusOK, http.MethodGet, "/v3/service_plans", nil)) {
		plans[p["name"].(string)] = p["guid"].(string)
		if p["visibility_type"] != visibilityAdmin {
			t.Errorf("a new plan of a global broker must be visible to admins only, got %v", p["visibility_type"])
		}
	}
	org := admin.must(http.StatusCreated, http.MethodPost, "/v3/organizations", map[string]any{"name": "o"})
	space := admin.must(http.StatusCreated, http.MethodPost, "/v3/spaces", map[string]any{"name": "s", "relationships": map[string]any{"organization": rel(org["guid"].(string))}})
	return admin, plans, space["guid"].(string)
}

// TestBrokerSeesWhatCloudControllerSends provisions, binds a service key and deletes the
// instance, checking each request the broker receives.
func TestBrokerSeesWhatCloudControllerSends(t *testing.T) {
	b := newOSBBroker(t)
	s := Start(Options{AdminPassword: "pw"})
	defer s.Close()
	admin, plans, spaceGUID := setup(t, s, b)
	catalogFetch := b.find(http.MethodGet, "/v2/catalog")[0]
	if user, pass, _ := (&http.Request{Header: catalogFetch.header}).BasicAuth(); user != "u" || pass != "p" || catalogFetch.header.Get("X-Broker-API-Version") != "2.17" {
		t.Errorf("catalog fetch without basic auth or API version: %v", catalogFetch.header)
	}
	admin.must(http.StatusOK, http.MethodPatch, "/v3/service_plans/"+plans["small"]+"/visibility", map[string]any{"type": "public"})

	admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_instances", map[string]any{
		"type": "managed", "name": "my-cache", "parameters": map[string]any{"size": 1},
		"relationships": map[string]any{"space": rel(spaceGUID), "service_plan": rel(plans["small"])},
	})
	put := b.find(http.MethodPut, "/v2/service_instances/")[0]
	if put.query.Get("accepts_incomplete") != "true" || put.header.Get("X-Broker-API-Version") != "2.17" || put.header.Get("X-Broker-API-Request-Identity") == "" {
		t.Errorf("provision request: %v %v", put.query, put.header)
	}
	platform, encoded, _ := strings.Cut(put.header.Get("X-Broker-API-Originating-Identity"), " ")
	identity, _ := base64.StdEncoding.DecodeString(encoded)
	var who map[string]string
	if platform != "cloudfoundry" || json.Unmarshal(identity, &who) != nil || who["user_id"] != s.st.userByName("admin").guid {
		t.Errorf("originating identity %q", put.header.Get("X-Broker-API-Originating-Identity"))
	}
	ctx, _ := put.body["context"].(map[string]any)
	if put.body["service_id"] != "svc" || put.body["plan_id"] != "small" || put.body["space_guid"] != spaceGUID ||
		ctx["platform"] != "cloudfoundry" || ctx["organization_name"] != "o" || ctx["space_name"] != "s" || ctx["instance_name"] != "my-cache" ||
		put.body["parameters"].(map[string]any)["size"] != float64(1) {
		t.Errorf("provision body %v", put.body)
	}
	polls := b.find(http.MethodGet, "/last_operation")
	if len(polls) != 2 || polls[0].query.Get("operation") != "provision-1" || polls[0].query.Get("plan_id") != "small" {
		t.Fatalf("last_operation polls: %v", polls)
	}
	if gap := polls[1].at.Sub(polls[0].at); gap < time.Second {
		t.Errorf("the broker asked for Retry-After: 1, the stand-in polled again after %s", gap)
	}
	instances := resources(admin.must(http.StatusOK, http.MethodGet, "/v3/service_instances?names=my-cache", nil))
	if len(instances) != 1 || instances[0]["last_operation"].(map[string]any)["state"] != "succeeded" {
		t.Fatalf("instance after provisioning: %v", instances)
	}
	instanceGUID := instances[0]["guid"].(string)

	admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_credential_bindings", map[string]any{
		"type": "key", "name": "k", "relationships": map[string]any{"service_instance": rel(instanceGUID)},
	})
	bind := b.find(http.MethodPut, "/service_bindings/")[0]
	if resource, _ := bind.body["bind_resource"].(map[string]any); resource["credential_client_id"] != "cf" || bind.body["app_guid"] != nil {
		t.Errorf("a service key binds with credential_client_id and no app: %v", bind.body)
	}
	keys := resources(admin.must(http.StatusOK, http.MethodGet, "/v3/service_credential_bindings?service_instance_guids="+instanceGUID+"&names=k", nil))
	details := admin.must(http.StatusOK, http.MethodGet, "/v3/service_credential_bindings/"+keys[0]["guid"].(string)+"/details", nil)
	if details["credentials"].(map[string]any)["password"] != "from-the-broker" {
		t.Errorf("details: %v", details)
	}

	status, _, refused := admin.do(http.MethodDelete, "/v3/service_brokers/"+s.st.brokers[0].guid, nil)
	if status != http.StatusUnprocessableEntity || !strings.Contains(refused["errors"].([]any)[0].(map[string]any)["title"].(string), "ServiceBrokerNotRemovable") {
		t.Errorf("deleting a broker with instances: %d %v", status, refused)
	}
	admin.must(http.StatusAccepted, http.MethodDelete, "/v3/service_instances/"+instanceGUID, nil)
	unbinds, deletes := b.find(http.MethodDelete, "/service_bindings/"), b.find(http.MethodDelete, "/v2/service_instances/")
	if len(unbinds) != 1 || len(deletes) != 2 || deletes[1].query.Get("accepts_incomplete") != "true" || deletes[1].query.Get("service_id") != "svc" {
		t.Errorf("deleting an instance must unbind its key, then delete it at the broker: %v %v", unbinds, deletes)
	}
	admin.must(http.StatusAccepted, http.MethodDelete, "/v3/service_brokers/"+s.st.brokers[0].guid, nil)
}

// TestPlanVisibility checks what a developer, and an admin in a space, may see and use.
func TestPlanVisibility(t *testing.T) {
	b := newOSBBroker(t)
	s := Start(Options{AdminPassword: "pw"})
	defer s.Close()
	admin, plans, spaceGUID := setup(t, s, b)
	s.AddUser("dev", "dev-pw")
	if err := s.AddOrgMember("o", "dev"); err != nil {
		t.Fatal(err)
	}
	dev := login(t, s, "dev", "dev-pw")
	if got := names(dev.must(http.StatusOK, http.MethodGet, "/v3/service_plans", nil)); len(got) != 0 {
		t.Errorf("a developer sees admin-only plans %v", got)
	}
	if got := names(admin.must(http.StatusOK, http.MethodGet, "/v3/service_offerings?space_guids="+spaceGUID, nil)); len(got) != 0 {
		t.Errorf("in a space, even an admin's marketplace must not offer admin-only plans: %v", got)
	}
	create := map[string]any{"type": "managed", "name": "x", "relationships": map[string]any{"space": rel(spaceGUID), "service_plan": rel(plans["large"])}}
	if status, _, _ := admin.do(http.MethodPost, "/v3/service_instances", create); status != http.StatusUnprocessableEntity {
		t.Errorf("creating an instance of an admin-only plan: %d, want 422", status)
	}

	org := resources(admin.must(http.StatusOK, http.MethodGet, "/v3/organizations?names=o", nil))[0]["guid"].(string)
	admin.must(http.StatusOK, http.MethodPost, "/v3/service_plans/"+plans["large"]+"/visibility",
		map[string]any{"type": "organization", "organizations": []map[string]string{{"guid": org}}})
	if got := names(dev.must(http.StatusOK, http.MethodGet, "/v3/service_plans", nil)); len(got) != 1 || got[0] != "large" {
		t.Errorf("with the plan enabled for its org the developer sees %v", got)
	}
	visibility := admin.must(http.StatusOK, http.MethodGet, "/v3/service_plans/"+plans["large"]+"/visibility", nil)
	if visibility["type"] != visibilityOrganization || len(visibility["organizations"].([]any)) != 1 {
		t.Errorf("visibility %v", visibility)
	}
	admin.must(http.StatusNoContent, http.MethodDelete, "/v3/service_plans/"+plans["large"]+"/visibility/"+org, nil)
	if got := names(dev.must(http.StatusOK, http.MethodGet, "/v3/service_plans", nil)); len(got) != 0 {
		t.Errorf("after removing its org the developer still sees %v", got)
	}
	if status, _, _ := dev.do(http.MethodPatch, "/v3/service_plans/"+plans["large"]+"/visibility", map[string]any{"type": "public"}); status != http.StatusForbidden {
		t.Errorf("a developer changed a plan's visibility: %d", status)
	}
}

// TestUpgradeFollowsTheMaintenanceInfoOfThePlan is `cf upgrade-service` as Cloud Controller
// serves it: upgrade_available once the refreshed catalog has a new version for the plan, the
// refusals, and the upgrade sent to the broker as an update with the new maintenance_info.
func TestUpgradeFollowsTheMaintenanceInfoOfThePlan(t *testing.T) {
	b := newOSBBroker(t)
	s := Start(Options{AdminPassword: "pw"})
	defer s.Close()
	admin, plans, spaceGUID := setup(t, s, b)
	guids := map[string]string{}
	for _, name := range []string{"small", "large"} {
		admin.must(http.StatusOK, http.MethodPatch, "/v3/service_plans/"+plans[name]+"/visibility", map[string]any{"type": "public"})
		admin.must(http.StatusAccepted, http.MethodPost, "/v3/service_instances", map[string]any{
			"type": "managed", "name": name + "-cache", "relationships": map[string]any{"space": rel(spaceGUID), "service_plan": rel(plans[name])},
		})
		guids[name] = resources(admin.must(http.StatusOK, http.MethodGet, "/v3/service_instances?names="+name+"-cache", nil))[0]["guid"].(string)
	}
	instance := func(name string) (version string, upgradeAvailable bool, lastOp map[string]any) {
		t.Helper()
		i := admin.must(http.StatusOK, http.MethodGet, "/v3/service_instances/"+guids[name], nil)
		version, _ = i["maintenance_info"].(map[string]any)["version"].(string)
		return version, i["upgrade_available"].(bool), i["last_operation"].(map[string]any)
	}
	upgrade := func(name, version string) (int, map[string]any) {
		t.Helper()
		status, location, body := admin.do(http.MethodPatch, "/v3/service_instances/"+guids[name], map[string]any{"maintenance_info": map[string]string{"version": version}})
		if status == http.StatusAccepted {
			admin.waitJob(location)
		}
		return status, body
	}
	if version, available, _ := instance("small"); version != "1.0.0" || available {
		t.Errorf("a new instance: version %q, upgrade available %v; want its plan's 1.0.0 and none", version, available)
	}
	if _, available, _ := instance("large"); available {
		t.Error("an instance of a plan without maintenance_info has an upgrade available")
	}

	b.publish("1.0.1")
	if _, available, _ := instance("small"); available {
		t.Error("an upgrade is available before the platform refreshed the broker's catalog")
	}
	admin.must(http.StatusAccepted, http.MethodPatch, "/v3/service_brokers/"+s.st.brokers[0].guid,
		map[string]any{"authentication": map[string]any{"type": "basic", "credentials": map[string]string{"username": "u", "password": "p"}}})
	if version, available, _ := instance("small"); version != "1.0.0" || !available {
		t.Fatalf("after the catalog refresh: version %q, upgrade available %v; want 1.0.0 and an upgrade", version, available)
	}
	for _, refused := range []struct{ name, version, detail string }{
		{"small", "2.0.0", "maintenance_info.version requested is invalid"},
		{"large", "1.0.1", "does not support upgrades"},
	} {
		status, body := upgrade(refused.name, refused.version)
		if errs, _ := body["errors"].([]any); status != http.StatusUnprocessableEntity || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["detail"].(string), refused.detail) {
			t.Errorf("upgrading %s to %s: %d %v, want 422 ...%s...", refused.name, refused.version, status, body, refused.detail)
		}
	}
	if status, body := upgrade("small", "1.0.0"); status != http.StatusOK || len(b.find(http.MethodPatch, "/v2/service_instances/")) != 0 {
		t.Errorf("the version the instance has: %d %v, want 200 and nothing asked of the broker", status, body)
	}

	if status, body := upgrade("small", "1.0.1"); status != http.StatusAccepted {
		t.Fatalf("upgrade: %d %v, want 202", status, body)
	}
	patches := b.find(http.MethodPatch, "/v2/service_instances/"+guids["small"])
	if len(patches) != 1 {
		t.Fatalf("the broker got %d updates, want 1", len(patches))
	}
	update := patches[0].body
	mi, _ := update["maintenance_info"].(map[string]any)
	previous, _ := update["previous_values"].(map[string]any)
	previousMI, _ := previous["maintenance_info"].(map[string]any)
	if patches[0].query.Get("accepts_incomplete") != "true" || update["plan_id"] != "small" || update["service_id"] != "svc" || mi["version"] != "1.0.1" ||
		previous["plan_id"] != "small" || previousMI["version"] != "1.0.0" || update["context"].(map[string]any)["instance_name"] != "small-cache" {
		t.Errorf("the broker's update: %v %v", patches[0].query, update)
	}
	if polls := b.find(http.MethodGet, guids["small"]+"/last_operation"); polls[len(polls)-1].query.Get("operation") != "upgrade-1" {
		t.Errorf("the update's last_operation polls: %v", polls)
	}
	if version, available, lastOp := instance("small"); version != "1.0.1" || available || lastOp["type"] != "update" || lastOp["state"] != "succeeded" {
		t.Errorf("after the upgrade: version %q, upgrade available %v, last operation %v", version, available, lastOp)
	}
}
