package registrar

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	boshtpl "github.com/cloudfoundry/bosh-cli/v7/director/template"
	"github.com/cloudfoundry/go-cfclient/v3/client"
	cfconfig "github.com/cloudfoundry/go-cfclient/v3/config"
	"github.com/cloudfoundry/go-cfclient/v3/resource"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

const (
	adminPassword  = "admin-password-1"
	brokerPassword = "broker-password-1"
	clientSecret   = "client-secret-1"
	devPassword    = "dev-password-1"
)

// fakeBrokerCatalog has two services: redis32 with two plans, mysql56 with one.
const fakeBrokerCatalog = `{"services":[
 {"id":"svc-redis","name":"redis32","description":"Redis 3.2 service","bindable":true,
  "plans":[{"id":"plan-redis-free","name":"free","description":"Free Trial"},{"id":"plan-redis-big","name":"big","description":"Big"}]},
 {"id":"svc-mysql","name":"mysql56","description":"MySQL 5.6 service","bindable":true,
  "plans":[{"id":"plan-mysql-free","name":"free","description":"Free Trial"}]}]}`

// fakeBroker is an OSB broker that provisions synchronously and deprovisions
// asynchronously, and records what it is asked.
type fakeBroker struct {
	*httptest.Server
	mu       sync.Mutex
	catalog  string
	requests []string
}

func newFakeBroker(t *testing.T) *fakeBroker {
	b := &fakeBroker{catalog: fakeBrokerCatalog}
	b.Server = httptest.NewServer(b.handler())
	t.Cleanup(b.Close)
	return b
}

// newHTTPSFakeBroker is a fake broker serving HTTPS with cert.
func newHTTPSFakeBroker(t *testing.T, cert boshrelease.Certificate) *fakeBroker {
	pair, err := tls.X509KeyPair([]byte(cert.Certificate), []byte(cert.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	b := &fakeBroker{catalog: fakeBrokerCatalog}
	b.Server = httptest.NewUnstartedServer(b.handler())
	b.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	b.StartTLS()
	t.Cleanup(b.Close)
	return b
}

func (b *fakeBroker) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if user != "broker" || pass != brokerPassword || r.Header.Get("X-Broker-API-Version") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b.mu.Lock()
		b.requests = append(b.requests, r.Method+" "+r.URL.Path)
		catalog := b.catalog
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v2/catalog":
			fmt.Fprint(w, catalog)
		case strings.HasSuffix(r.URL.Path, "/last_operation"):
			w.WriteHeader(http.StatusGone) // the async delete is done
		case strings.Contains(r.URL.Path, "/service_bindings/"):
			fmt.Fprint(w, `{"credentials":{"password":"x"}}`)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusCreated)
			fmt.Fprint(w, `{}`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"operation":"deprovision"}`)
		}
	})
}

func (b *fakeBroker) received(request string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.requests {
		if strings.HasPrefix(r, request) {
			n++
		}
	}
	return n
}

// env is a Cloud Foundry stand-in with the fake broker, and a log of the requests the
// stand-in served.
type env struct {
	t      *testing.T
	cf     *cfstandin.Server
	broker *fakeBroker
	mu     sync.Mutex
	cfLog  []string
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, newFakeBroker(t))
}

// newEnvWith is a Cloud Foundry stand-in with broker, trusting brokerCAs (PEM) as Cloud
// Controller trusts the CAs an operator adds.
func newEnvWith(t *testing.T, broker *fakeBroker, brokerCAs ...string) *env {
	e := &env{t: t, broker: broker}
	e.cf = cfstandin.Start(cfstandin.Options{
		AdminPassword: adminPassword, AdminClientID: "registrar", AdminClientSecret: clientSecret,
		PollInterval: 10 * time.Millisecond, BrokerCACerts: brokerCAs,
		Logf: func(format string, args ...any) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.cfLog = append(e.cfLog, fmt.Sprintf(format, args...))
		},
	})
	t.Cleanup(e.cf.Close)
	return e
}

func (e *env) config() Config {
	return Config{
		CF:     CFConfig{APIURL: e.cf.URL, Username: "admin", Password: adminPassword, SkipSSLValidation: true},
		Broker: BrokerConfig{Name: "docker-broker", Endpoint: osbclient.Endpoint{URL: e.broker.URL, Username: "broker", Password: brokerPassword}},
	}
}

// run runs register (or deregister) with cfg and returns its output; it fails the test if
// a secret appears in it.
func (e *env) run(cfg Config, deregister bool) (string, error) {
	e.t.Helper()
	var out bytes.Buffer
	ctx := context.Background()
	r, err := New(ctx, cfg, Options{PollInterval: 10 * time.Millisecond, JobTimeout: time.Minute}, &out)
	if err == nil {
		if deregister {
			err = r.Deregister(ctx)
		} else {
			err = r.Register(ctx)
		}
	}
	text := out.String()
	if err != nil {
		text += "error: " + err.Error()
	}
	e.t.Logf("registrar output:\n%s", text)
	for _, secret := range []string{adminPassword, brokerPassword, clientSecret} {
		if strings.Contains(text, secret) {
			e.t.Errorf("a secret appears in the registrar's output:\n%s", text)
		}
	}
	return out.String(), err
}

// mutations returns the visibility and broker changes the stand-in served since mark.
func (e *env) mutations(mark int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var changes []string
	for _, line := range e.cfLog[mark:] {
		if strings.HasPrefix(line, "cf: GET") || !strings.HasPrefix(line, "cf: ") || strings.Contains(line, "/oauth/token") {
			continue
		}
		changes = append(changes, line)
	}
	return changes
}

func (e *env) logMark() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.cfLog)
}

// client logs in to the stand-in as user.
func (e *env) client(user, password string) *client.Client {
	e.t.Helper()
	cfg, err := cfconfig.New(e.cf.URL, cfconfig.UserPassword(user, password), cfconfig.SkipTLSValidation())
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// visiblePlans lists "service/plan" of the plans user sees in the org's spaces (as
// cf marketplace asks), or overall with orgGUID "".
func (e *env) visiblePlans(c *client.Client, orgGUID string) []string {
	e.t.Helper()
	opts := client.NewServicePlanListOptions()
	if orgGUID != "" {
		opts.OrganizationGUIDs.EqualTo(orgGUID)
	}
	plans, err := c.ServicePlans.ListAll(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	offerings, err := c.ServiceOfferings.ListAll(context.Background(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	names := map[string]string{}
	for _, o := range offerings {
		names[o.GUID] = o.Name
	}
	var visible []string
	for _, p := range plans {
		visible = append(visible, names[p.Relationships.ServiceOffering.Data.GUID]+"/"+p.Name)
	}
	slices.Sort(visible)
	return visible
}

func (e *env) createOrg(c *client.Client, name string) *resource.Organization {
	e.t.Helper()
	o, err := c.Organizations.Create(context.Background(), resource.NewOrganizationCreate(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// TestRegisterCreatesThenUpdatesAndChangesNothingTwice is the seed's errand run, then a
// re-run that must find everything right already.
func TestRegisterCreatesThenUpdatesAndChangesNothingTwice(t *testing.T) {
	e := newEnv(t)
	out, err := e.run(e.config(), false)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Service broker 'docker-broker' does not exist - creating broker\nCreating service broker docker-broker as admin...\nOK\n",
		"Enabling access to all plans of service redis32 for all orgs as admin...\nOK\n" +
			"Enabling access to all plans of service mysql56 for all orgs as admin...\nOK\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "Enabling access to all plans of service mysql56 for all orgs as admin...\nOK\n") {
		t.Errorf("the output must finish with the access lines, as in the seed README:\n%s", out)
	}
	if e.broker.received("GET /v2/catalog") < 2 {
		t.Errorf("the registrar and Cloud Foundry must each fetch the catalog: %d fetches", e.broker.received("GET /v2/catalog"))
	}
	dev := e.cf.AddUser("dev", devPassword)
	admin := e.client("admin", adminPassword)
	o := e.createOrg(admin, "some-org")
	if err := e.cf.AddOrgMember("some-org", "dev"); err != nil {
		t.Fatal(err)
	}
	if got := e.visiblePlans(e.client("dev", devPassword), o.GUID); !slices.Equal(got, []string{"mysql56/free", "redis32/big", "redis32/free"}) {
		t.Errorf("developer %s sees %v, want every plan", dev, got)
	}

	mark := e.logMark()
	out, err = e.run(e.config(), false)
	if err != nil {
		t.Fatalf("second register: %v\n%s", err, out)
	}
	want := "Service broker 'docker-broker' already exists - updating broker\nUpdating service broker docker-broker as admin...\nOK\n" +
		"Enabling access to all plans of service redis32 for all orgs as admin...\nOK (already enabled: nothing changed)\n" +
		"Enabling access to all plans of service mysql56 for all orgs as admin...\nOK (already enabled: nothing changed)\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("second run:\n%s\nwant it to end with:\n%s", out, want)
	}
	changes := e.mutations(mark)
	if len(changes) != 1 || !strings.HasPrefix(changes[0], "cf: PATCH /v3/service_brokers/") {
		t.Errorf("the second run must only update the broker (to refresh its catalog), it sent %v", changes)
	}
}

// TestAccessFollowsTheConfig narrows access to orgs and an allow-list, then widens it again,
// checking what a developer sees after each run.
func TestAccessFollowsTheConfig(t *testing.T) {
	e := newEnv(t)
	admin := e.client("admin", adminPassword)
	e.cf.AddUser("dev", devPassword)
	dev := e.client("dev", devPassword)
	alpha, beta := e.createOrg(admin, "alpha"), e.createOrg(admin, "beta")
	for _, org := range []string{"alpha", "beta"} {
		if err := e.cf.AddOrgMember(org, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := e.run(e.config(), false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// Only alpha, only redis32/free and all of mysql56.
	cfg := e.config()
	cfg.Access = AccessConfig{Orgs: []string{"alpha"}, Services: []string{"mysql56"}, Plans: []string{"redis32/free"}}
	out, err := e.run(cfg, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"Disabling access to all plans of service redis32 for all orgs as admin...\nOK\n",
		"Enabling access to plan free of service redis32 for the org alpha as admin...\nOK\n",
		"Disabling access to all plans of service mysql56 for all orgs as admin...\nOK\n",
		"Enabling access to all plans of service mysql56 for the org alpha as admin...\nOK\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "plan big") {
		t.Errorf("redis32/big is not allowed: nothing should enable it:\n%s", out)
	}
	if got := e.visiblePlans(dev, alpha.GUID); !slices.Equal(got, []string{"mysql56/free", "redis32/free"}) {
		t.Errorf("in alpha the developer sees %v", got)
	}
	if got := e.visiblePlans(dev, beta.GUID); len(got) != 0 {
		t.Errorf("in beta the developer sees %v, want nothing", got)
	}

	// Move to beta and drop mysql56: alpha loses everything.
	cfg.Access = AccessConfig{Orgs: []string{"beta"}, Plans: []string{"redis32/free"}}
	out, err = e.run(cfg, false)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"Enabling access to plan free of service redis32 for the org beta as admin...\nOK\n",
		"Disabling access to plan free of service redis32 for the org alpha as admin...\nOK\n",
		"Disabling access to all plans of service mysql56 for the org alpha as admin...\nOK\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := e.visiblePlans(dev, alpha.GUID); len(got) != 0 {
		t.Errorf("in alpha the developer still sees %v", got)
	}
	if got := e.visiblePlans(dev, beta.GUID); !slices.Equal(got, []string{"redis32/free"}) {
		t.Errorf("in beta the developer sees %v", got)
	}

	// Back to the default: everything public.
	if out, err := e.run(e.config(), false); err != nil || !strings.Contains(out, "Enabling access to all plans of service mysql56 for all orgs as admin...\nOK\n") {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := e.visiblePlans(dev, alpha.GUID); len(got) != 3 {
		t.Errorf("after making everything public the developer sees %v in alpha", got)
	}
}

func TestRegisterSpaceScopedBroker(t *testing.T) {
	e := newEnv(t)
	admin := e.client("admin", adminPassword)
	o := e.createOrg(admin, "team")
	sp, err := admin.Spaces.Create(context.Background(), resource.NewSpaceCreate("dev", o.GUID))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.SpaceScoped = SpaceScopedConfig{Org: "team", Space: "dev"}
	out, err := e.run(cfg, false)
	if err != nil || !strings.HasSuffix(out, "Service broker docker-broker is space-scoped: its plans are visible in org team / space dev only\n") {
		t.Fatalf("%v\n%s", err, out)
	}
	opts := client.NewServiceBrokerListOptions()
	opts.SpaceGUIDs.EqualTo(sp.GUID)
	if brokers, err := admin.ServiceBrokers.ListAll(context.Background(), opts); err != nil || len(brokers) != 1 {
		t.Fatalf("space-scoped brokers of the space: %v %v", brokers, err)
	}
	// The scope cannot change by re-registering.
	if _, err := e.run(e.config(), false); err == nil || !strings.Contains(err.Error(), "cannot change a broker's scope") {
		t.Errorf("re-registering a space-scoped broker for all orgs must fail, got %v", err)
	}
}

// TestFailuresCarryCloudFoundryErrors checks that what Cloud Foundry refuses reaches the
// operator with its code, title and detail.
func TestFailuresCarryCloudFoundryErrors(t *testing.T) {
	e := newEnv(t)
	e.broker.mu.Lock()
	e.broker.catalog = `{"services":[{"id":"s","name":"nodesc","bindable":true,"plans":[{"id":"p","name":"free","description":"x"}]}]}`
	e.broker.mu.Unlock()
	_, err := e.run(e.config(), false)
	if err == nil || !strings.Contains(err.Error(), "CF-ServiceBrokerCatalogInvalid (code 270012)") || !strings.Contains(err.Error(), "Service description is required") {
		t.Errorf("an invalid catalog must fail with Cloud Foundry's error, got %v", err)
	}

	cfg := e.config()
	cfg.CF.Password = "wrong-password"
	if _, err := e.run(cfg, false); err == nil || !strings.Contains(err.Error(), "UAA refused the login") || !strings.Contains(err.Error(), "Bad credentials") {
		t.Errorf("a wrong password must fail with UAA's answer, got %v", err)
	}

	cfg = e.config()
	cfg.Access.Orgs = []string{"no-such-org"}
	if _, err := e.run(cfg, false); err == nil || !strings.Contains(err.Error(), `no org named "no-such-org"`) {
		t.Errorf("an unknown org must be named, got %v", err)
	}

	cfg = e.config()
	cfg.Broker.Password = "not-the-broker-password"
	if _, err := e.run(cfg, false); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong broker password must fail when fetching the catalog, got %v", err)
	}
}

// TestLoginWithClientCredentialsAndCACert logs in as a UAA client, verifying the stand-in's
// certificate with ca_cert instead of skipping validation.
func TestLoginWithClientCredentialsAndCACert(t *testing.T) {
	e := newEnv(t)
	cfg := e.config()
	cfg.CF = CFConfig{APIURL: e.cf.URL, ClientID: "registrar", ClientSecret: clientSecret, CACert: e.cf.CACertPEM()}
	out, err := e.run(cfg, false)
	if err != nil || !strings.Contains(out, "Enabling access to all plans of service redis32 for all orgs as registrar...\nOK\n") {
		t.Fatalf("%v\n%s", err, out)
	}
	cfg.CF.CACert = ""
	if _, err := e.run(cfg, false); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without ca_cert or skip_ssl_validation the self-signed API must be refused, got %v", err)
	}
}

// TestDeregisterRefusesThenPurges leaves an instance with a key behind: deregister lists it
// and fails; with purge_instances it deletes both through Cloud Foundry (the broker gets
// the DELETEs) and then the broker.
func TestDeregisterRefusesThenPurges(t *testing.T) {
	e := newEnv(t)
	if out, err := e.run(e.config(), false); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ctx := context.Background()
	admin := e.client("admin", adminPassword)
	o := e.createOrg(admin, "team")
	sp, err := admin.Spaces.Create(ctx, resource.NewSpaceCreate("dev", o.GUID))
	if err != nil {
		t.Fatal(err)
	}
	plans, err := admin.ServicePlans.ListAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobGUID, err := admin.ServiceInstances.CreateManaged(ctx, resource.NewServiceInstanceCreateManaged("cache", sp.GUID, plans[0].GUID))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Jobs.PollComplete(ctx, jobGUID, &client.PollingOptions{Timeout: time.Minute, CheckInterval: 10 * time.Millisecond, FailedState: "FAILED"}); err != nil {
		t.Fatal(err)
	}
	instances, err := admin.ServiceInstances.ListAll(ctx, nil)
	if err != nil || len(instances) != 1 {
		t.Fatalf("instances: %v %v", instances, err)
	}
	keyJob, _, err := admin.ServiceCredentialBindings.Create(ctx, resource.NewServiceCredentialBindingCreateKey(instances[0].GUID, "cache-key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Jobs.PollComplete(ctx, keyJob, &client.PollingOptions{Timeout: time.Minute, CheckInterval: 10 * time.Millisecond, FailedState: "FAILED"}); err != nil {
		t.Fatal(err)
	}

	out, err := e.run(e.config(), true)
	if !errors.Is(err, ErrInstancesExist) {
		t.Fatalf("deregister with an instance left: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Service broker 'docker-broker' still has 1 service instance(s):\n  cache (service redis32, plan free) in org team / space dev\n") {
		t.Errorf("the refusal must list the instance:\n%s", out)
	}
	if e.broker.received("DELETE") != 0 {
		t.Fatal("a refused deregister must not delete anything")
	}

	cfg := e.config()
	cfg.PurgeInstances = true
	out, err = e.run(cfg, true)
	if err != nil {
		t.Fatalf("purge: %v\n%s", err, out)
	}
	want := "Deleting service instance cache (service redis32, plan free) in org team / space dev and its bindings as admin...\nOK\n" +
		"Deleting service broker docker-broker as admin...\nOK\n"
	if !strings.HasSuffix(out, want) {
		t.Errorf("purge output:\n%s\nwant it to end with:\n%s", out, want)
	}
	if e.broker.received("DELETE /v2/service_instances/"+instances[0].GUID+"/service_bindings/") != 1 || e.broker.received("DELETE /v2/service_instances/"+instances[0].GUID) != 2 {
		t.Errorf("the broker must have been asked to unbind the key and delete the instance: %v", e.broker.requests)
	}
	if left, err := admin.ServiceBrokers.ListAll(ctx, nil); err != nil || len(left) != 0 {
		t.Errorf("brokers left: %v %v", left, err)
	}
	if out, err := e.run(e.config(), true); err != nil || !strings.Contains(out, "Service broker 'docker-broker' does not exist - nothing to deregister") {
		t.Errorf("deregistering again must succeed and say so: %v\n%s", err, out)
	}
}

// certificates generates a CA and a server certificate it signs for 127.0.0.1, as the vars
// store does for operators/broker-tls.yml.
func certificates(t *testing.T, name string) (ca, server boshrelease.Certificate) {
	t.Helper()
	store := boshrelease.NewVarsStore()
	for _, def := range []boshtpl.VariableDefinition{
		{Name: name + "-ca", Type: "certificate", Options: map[any]any{"is_ca": true, "common_name": name + "-ca"}},
		{Name: name + "-tls", Type: "certificate", Options: map[any]any{
			"ca": name + "-ca", "common_name": name, "alternative_names": []any{"127.0.0.1"}, "extended_key_usage": []any{"server_auth"}}},
	} {
		if _, _, err := store.Get(def); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := store.Certificate(name + "-ca")
	if err == nil {
		server, err = store.Certificate(name + "-tls")
	}
	if err != nil {
		t.Fatal(err)
	}
	return ca, server
}

// TestRegisterAnHTTPSBrokerTrustingItsCA registers a broker that serves HTTPS with a
// certificate of its own CA: the registrar and Cloud Controller verify it against that CA
// (never skipping validation), Cloud Foundry records the https:// URL, and a broker whose
// certificate another CA signed is refused with an error that says which CA to give.
func TestRegisterAnHTTPSBrokerTrustingItsCA(t *testing.T) {
	brokerCA, brokerCert := certificates(t, "docker-broker")
	otherCA, _ := certificates(t, "other")
	e := newEnvWith(t, newHTTPSFakeBroker(t, brokerCert), brokerCA.Certificate)
	cfg := e.config()
	cfg.Broker.CACert = brokerCA.Certificate
	if !strings.HasPrefix(cfg.Broker.URL, "https://127.0.0.1:") {
		t.Fatalf("the fake broker's URL is %s", cfg.Broker.URL)
	}
	out, err := e.run(cfg, false)
	if err != nil {
		t.Fatalf("register over HTTPS: %v\n%s", err, out)
	}
	brokers, err := e.client("admin", adminPassword).ServiceBrokers.ListAll(context.Background(), nil)
	if err != nil || len(brokers) != 1 || brokers[0].URL != cfg.Broker.URL {
		t.Fatalf("Cloud Foundry must list the broker at %s: %+v %v", cfg.Broker.URL, brokers, err)
	}
	if e.broker.received("GET /v2/catalog") < 2 {
		t.Errorf("the registrar and Cloud Controller must each have fetched the catalog over HTTPS: %d fetches", e.broker.received("GET /v2/catalog"))
	}

	// The errand trusting another CA: the catalog fetch fails before Cloud Foundry is changed.
	fetches := e.broker.received("GET /v2/catalog")
	cfg.Broker.CACert = otherCA.Certificate
	_, err = e.run(cfg, false)
	for _, want := range []string{"fetching the broker's catalog from " + cfg.Broker.URL, "certificate signed by unknown authority", "tls.ca", "servicebroker.ca_cert"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("with another CA the registrar must fail saying %q, got %v", want, err)
		}
	}
	if e.broker.received("GET /v2/catalog") != fetches {
		t.Error("a handshake that failed verification must not reach the broker's handler")
	}

	// Cloud Controller that does not trust the broker's CA cannot reach it either.
	untrusting := newEnvWith(t, e.broker)
	cfg = untrusting.config()
	cfg.Broker.CACert = brokerCA.Certificate
	if _, err := untrusting.run(cfg, false); err == nil || !strings.Contains(err.Error(), "could not be reached") {
		t.Errorf("a Cloud Controller without the broker's CA must fail to reach it, got %v", err)
	}
}
