package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
)

// TestUpgradeServiceAfterATagBump is an image upgrade as the operator and a developer see it,
// with the real cf CLI against the Cloud Foundry stand-in and a real broker running redis74:
// the operator bumps the plan's tag and restarts the broker, the registrar errand refreshes
// the catalog, cf services shows an upgrade available for the instance, and
// cf upgrade-service recreates its container on the new tag, with its data and its service
// key's user kept.
func TestUpgradeServiceAfterATagBump(t *testing.T) {
	cf := newCFSession(t) // first: the build may take minutes on a new machine
	b := startBroker(t, brokertest.Services(t, "services/op-redis74.yml"), "upgrade-"+e2eBrokerName, [2]int{19600, 19699})
	cc := cfstandin.Start(cfstandin.Options{AdminPassword: e2eAdminPassword})
	t.Cleanup(cc.Close)
	cfg := registrarConfig(cc, b)
	if _, err := runRegistrar(t, "register", cfg); err != nil {
		t.Fatalf("register: %v", err)
	}
	cf.loginAsAdmin(cc.URL)
	cf.must("create-service", "redis74", "small", "r1", "--wait")
	guid := strings.TrimSpace(cf.must("service", "r1", "--guid"))
	cf.must("create-service-key", "r1", "k1", "--wait")
	k1 := cf.serviceKey("r1", "k1").Credentials
	s := mustDialRedis(t, "k1", k1.URI)
	s.mustSet(t, "upgrade", "written on redis:7.4")
	s.close()
	// cf services: name, offering, plan, bound apps, last operation, broker, upgrade available.
	upgradeColumn := func() string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^r1\s.*\s(\S+)\s*$`).FindStringSubmatch(cf.must("services"))
		if m == nil {
			t.Fatal("cf services does not list r1")
		}
		return m[1]
	}
	if got := upgradeColumn(); got != "no" {
		t.Fatalf("upgrade available for a new instance: %q, want no", got)
	}

	b.Config.Catalog.Services[0].Plans[0].Container.Tag = "7"
	b.Restart()
	if got := upgradeColumn(); got != "no" {
		t.Errorf("upgrade available before the platform refreshed the catalog: %q, want no", got)
	}
	if _, err := runRegistrar(t, "register", cfg); err != nil {
		t.Fatalf("register after the tag bump: %v", err)
	}
	if got := upgradeColumn(); got != "yes" {
		t.Fatalf("upgrade available after the tag bump: %q, want yes", got)
	}
	cf.must("upgrade-service", "r1", "--force", "--wait")
	if c := b.Containers(t)[guid]; c.Image != "redis:7" || !c.Running {
		t.Fatalf("after cf upgrade-service the container of r1 runs %s (running %v), want redis:7", c.Image, c.Running)
	}
	if got := upgradeColumn(); got != "no" {
		t.Errorf("upgrade available after the upgrade: %q, want no", got)
	}
	s = mustDialRedis(t, "k1", k1.URI)
	defer s.close()
	s.mustGet(t, "upgrade", "written on redis:7.4")
}
