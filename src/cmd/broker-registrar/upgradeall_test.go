package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

// upgradeConfig is the upgrade-all-instances errand's config for broker b: directly through
// the broker, as policy says.
func upgradeConfig(b *brokertest.Broker, policy upgrade.Policy) registrar.UpgradeConfig {
	return registrar.UpgradeConfig{
		Errand: registrar.UpgradeErrandName,
		Broker: registrar.BrokerConfig{Name: e2eBrokerName, Endpoint: osbclient.Endpoint{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password}},
		Policy: policy,
	}
}

// testPolicy upgrades two at a time after one canary, with a short backoff.
var testPolicy = upgrade.Policy{Canaries: 1, MaxInFlight: 2, Attempts: 5, Backoff: config.Duration(time.Second)}

// runUpgradeAll runs the upgrade-all-instances errand with cfg.
func runUpgradeAll(t testing.TB, cfg registrar.UpgradeConfig) (string, error) {
	t.Helper()
	return runErrand(t, "upgrade-all-instances", "upgrade-all-instances.json", cfg)
}

// upgradedLines are the errand's lines that say an instance was upgraded from one version to
// another.
var upgradedLines = regexp.MustCompile(`(?m)^\S+ upgraded  (\S+) .*\((\S+)/(\S+) (\S+) -> (\S+)\) in `)

// TestUpgradeAllInstancesDirectlyThroughTheBroker is the errand without a platform, against a
// real broker running redis74: three instances with data, a tag bump and a broker restart,
// then the errand upgrades them all through the broker's own API — their containers run the
// new tag, their data and credentials are kept — and a second run finds nothing to do.
func TestUpgradeAllInstancesDirectlyThroughTheBroker(t *testing.T) {
	b := startBroker(t, brokertest.Services(t, "services/op-redis74.yml"), "upgradeall-direct-"+e2eBrokerName, [2]int{25400, 25449})
	ctx := context.Background()
	client := osbclient.New(osbclient.Config{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password, PollInterval: 100 * time.Millisecond})
	cat, err := client.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	service, plan := cat.Services[0], cat.Services[0].Plans[0]
	uris := map[string]string{}
	for i := range 3 {
		id := fmt.Sprintf("upgrade-all-%d", i)
		if err := client.Provision(ctx, osbapi.ProvisionRequest{InstanceID: id, ServiceID: service.ID, PlanID: plan.ID, OrganizationGUID: "org", SpaceGUID: "space"}); err != nil {
			t.Fatalf("provision %s: %v", id, err)
		}
		raw, err := client.Bind(ctx, osbapi.BindRequest{InstanceID: id, BindingID: id + "-key", ServiceID: service.ID, PlanID: plan.ID})
		if err != nil {
			t.Fatalf("bind %s: %v", id, err)
		}
		var creds keyCredentials
		if err := json.Unmarshal(raw, &creds); err != nil {
			t.Fatal(err)
		}
		uris[id] = creds.URI
		s := mustDialRedis(t, id, creds.URI)
		s.mustSet(t, "written", "on "+id+" before the upgrade")
		s.close()
	}
	cfg := upgradeConfig(b, testPolicy)
	if out, err := runUpgradeAll(t, cfg); err != nil || !strings.Contains(out, "0 instances need an upgrade") {
		t.Fatalf("before the tag bump: %v\n%s", err, out)
	}

	b.Config.Catalog.Services[0].Plans[0].Container.Tag = "7"
	b.Restart()
	out, err := runUpgradeAll(t, cfg)
	if err != nil {
		t.Fatalf("upgrade-all-instances: %v", err)
	}
	for _, line := range []string{"No cf.api_url: upgrading directly through the broker", "3 instances need an upgrade: 1 canary first, then up to 2 at a time",
		"(canary)", "Upgraded 3 of 3 instances", "0 failed, 0 not attempted"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}
	upgraded := map[string]bool{}
	for _, m := range upgradedLines.FindAllStringSubmatch(out, -1) {
		upgraded[m[1]] = true
		if m[2] != service.Name || m[3] != plan.Name || m[4] != "1.0.0" || m[5] != "1.0.1" {
			t.Errorf("instance %s upgraded as %s/%s %s -> %s, want %s/%s 1.0.0 -> 1.0.1", m[1], m[2], m[3], m[4], m[5], service.Name, plan.Name)
		}
	}
	containers := b.Containers(t)
	for id, uri := range uris {
		if !upgraded[id] {
			t.Errorf("no line says %s was upgraded", id)
		}
		if c := containers[id]; c.Image != "redis:7" || !c.Running {
			t.Errorf("after the errand the container of %s runs %s (running %v), want redis:7", id, c.Image, c.Running)
		}
		s := mustDialRedis(t, id, uri)
		s.mustGet(t, "written", "on "+id+" before the upgrade")
		s.close()
	}
	if out, err := runUpgradeAll(t, cfg); err != nil || !strings.Contains(out, "0 instances need an upgrade") {
		t.Errorf("a second run: %v\n%s", err, out)
	}
}

// TestUpgradeAllInstancesThroughCloudFoundry is the errand with the broker registered in Cloud
// Foundry (the stand-in, a real broker running redis74, instances made with the real cf CLI):
// after a tag bump and a broker restart the errand refreshes Cloud Foundry's catalog itself and
// upgrades through Cloud Foundry, so that Cloud Foundry no longer offers an upgrade, the
// containers run the new tag with their data, and a second run finds nothing to do.
func TestUpgradeAllInstancesThroughCloudFoundry(t *testing.T) {
	cf := newCFSession(t) // first: the build may take minutes on a new machine
	b := startBroker(t, brokertest.Services(t, "services/op-redis74.yml"), "upgradeall-cf-"+e2eBrokerName, [2]int{25450, 25499})
	cc := cfstandin.Start(cfstandin.Options{AdminPassword: e2eAdminPassword})
	t.Cleanup(cc.Close)
	if _, err := runRegistrar(t, "register", registrarConfig(cc, b)); err != nil {
		t.Fatalf("register: %v", err)
	}
	cf.loginAsAdmin(cc.URL)
	names := []string{"r1", "r2", "r3"}
	guids, uris := map[string]string{}, map[string]string{}
	for _, name := range names {
		cf.must("create-service", "redis74", "small", name, "--wait")
		guids[name] = strings.TrimSpace(cf.must("service", name, "--guid"))
		cf.must("create-service-key", name, "k", "--wait")
		uris[name] = cf.serviceKey(name, "k").Credentials.URI
		s := mustDialRedis(t, name, uris[name])
		s.mustSet(t, "written", "on "+name+" before the upgrade")
		s.close()
	}
	cfg := upgradeConfig(b, testPolicy)
	cfg.CF = registrarConfig(cc, b).CF

	b.Config.Catalog.Services[0].Plans[0].Container.Tag = "7"
	b.Restart()
	out, err := runUpgradeAll(t, cfg)
	if err != nil {
		t.Fatalf("upgrade-all-instances: %v", err)
	}
	for _, line := range []string{"Refreshing Cloud Foundry's catalog of service broker docker-broker as admin...\nOK",
		"3 instances need an upgrade", "upgraded  r1 in org demo / space dev (redis74/small 1.0.0 -> 1.0.1)", "Upgraded 3 of 3 instances"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q", line)
		}
	}
	containers := b.Containers(t)
	for _, name := range names {
		if c := containers[guids[name]]; c.Image != "redis:7" || !c.Running {
			t.Errorf("after the errand the container of %s runs %s (running %v), want redis:7", name, c.Image, c.Running)
		}
		if available, version := upgradeAvailable(cf, guids[name]); available || version != "1.0.1" {
			t.Errorf("Cloud Foundry's record of %s: upgrade_available %v, maintenance_info %q; want false at 1.0.1", name, available, version)
		}
		s := mustDialRedis(t, name, uris[name])
		s.mustGet(t, "written", "on "+name+" before the upgrade")
		s.close()
	}
	if m := regexp.MustCompile(`(?m)^r\d\s.*\syes\s*$`).FindString(cf.must("services")); m != "" {
		t.Errorf("cf services still offers an upgrade: %s", m)
	}
	if out, err := runUpgradeAll(t, cfg); err != nil || !strings.Contains(out, "0 instances need an upgrade") {
		t.Errorf("a second run: %v\n%s", err, out)
	}
}

// upgradeAvailable is Cloud Foundry's upgrade_available and maintenance_info version of the
// instance guid (`cf curl /v3/service_instances/GUID`).
func upgradeAvailable(cf *cfSession, guid string) (bool, string) {
	cf.t.Helper()
	var i struct {
		UpgradeAvailable bool `json:"upgrade_available"`
		MaintenanceInfo  struct {
			Version string `json:"version"`
		} `json:"maintenance_info"`
	}
	if out := cf.must("curl", "/v3/service_instances/"+guid); json.Unmarshal([]byte(out), &i) != nil {
		cf.t.Fatalf("cf curl /v3/service_instances/%s: %s", guid, out)
	}
	return i.UpgradeAvailable, i.MaintenanceInfo.Version
}
