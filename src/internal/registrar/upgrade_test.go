package registrar

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudfoundry/go-cfclient/v3/resource"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

func validUpgradeConfig() UpgradeConfig {
	return UpgradeConfig{Errand: UpgradeErrandName, Broker: validConfig().Broker, Policy: upgrade.DefaultPolicy()}
}

// Without cf.api_url the errand goes directly through the broker; with it, through Cloud
// Foundry, whose credentials are then required. Credentials without api_url are a mistake.
func TestUpgradeConfigGoesThroughCloudFoundryOnlyWithItsAPI(t *testing.T) {
	direct := validUpgradeConfig()
	if err := direct.Validate(); err != nil || direct.ThroughCloudFoundry() {
		t.Errorf("without cf: %v, through Cloud Foundry %v; want valid, directly through the broker", err, direct.ThroughCloudFoundry())
	}
	throughCF := validUpgradeConfig()
	throughCF.CF = validConfig().CF
	if err := throughCF.Validate(); err != nil || !throughCF.ThroughCloudFoundry() {
		t.Errorf("with cf: %v, through Cloud Foundry %v; want valid, through Cloud Foundry", err, throughCF.ThroughCloudFoundry())
	}

	c := validUpgradeConfig()
	c.CF.Username, c.CF.Password = "admin", "secret"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cf.api_url: is required with cf credentials") {
		t.Errorf("cf credentials without cf.api_url: %v", err)
	}
	c = validUpgradeConfig()
	c.CF.APIURL = "https://api.example.com"
	c.Broker.Password = ""
	c.Policy.MaxInFlight = 0
	err := c.Validate()
	for _, field := range []string{"cf: needs credentials", "broker.password:", "max_in_flight:"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("no problem reported for %s in %v", field, err)
		}
	}
}

func TestLoadUpgradeConfigRefusesUnknownFieldsAndDefaultsThePolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upgrade-all-instances.json")
	broker := `"errand":"upgrade-all-instances","broker":{"name":"b","url":"http://b:8080","username":"u","password":"p"}`
	if err := os.WriteFile(path, []byte(`{`+broker+`,"max_in_flite":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadUpgradeConfig(path); err == nil || !strings.Contains(err.Error(), "max_in_flite") {
		t.Errorf("a misspelt field must be refused by name, got %v", err)
	}
	if err := os.WriteFile(path, []byte(`{`+broker+`,"canaries":0}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadUpgradeConfig(path)
	want := upgrade.DefaultPolicy()
	want.Canaries = 0
	if err != nil || c.Policy != want {
		t.Errorf("policy %+v (%v), want the defaults but no canaries: %+v", c.Policy, err, want)
	}
}

// A config that leaves a key out means what the upgrade-all-instances job renders for it
// when the manifest sets nothing.
func TestUpgradeConfigDefaultsAreTheJobs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	properties := map[string]any{"servicebroker": map[string]any{"name": "b", "url": "http://b:8080", "username": "u", "password": "p"}}
	mismatches, err := boshrelease.DefaultMismatches(root, "upgrade-all-instances", "config/upgrade-all-instances.json", properties,
		func(path string) (any, error) { return LoadUpgradeConfig(path) })
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}

// An instance busy in Cloud Foundry or at the broker, and a Cloud Foundry that fails or does
// not answer, are worth another attempt; a refusal is not.
func TestWhichUpgradeFailuresMayPass(t *testing.T) {
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"operation in progress":   {resource.NewAsyncServiceInstanceOperationInProgressError(), true},
		"broker busy, on the job": {&JobFailedError{Operation: "service_instance.update", Errors: []resource.CloudFoundryError{resource.NewServiceBrokerConcurrencyError()}}, true},
		"Cloud Foundry failed":    {resource.CloudFoundryHTTPError{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway"}, true},
		"no answer":               {&url.Error{Op: "Patch", URL: "https://api.example.com", Err: errors.New("connection refused")}, true},
		"the broker's failure":    {&JobFailedError{Operation: "service_instance.update", Errors: []resource.CloudFoundryError{resource.NewServiceBrokerRequestRejectedError()}}, false},
		"a refused version":       {resource.NewUnprocessableEntityError(), false},
	} {
		if got := passing(&Error{Action: "upgrading service instance r1", Err: c.err}); got != c.want {
			t.Errorf("%s: retryable %v, want %v", name, got, c.want)
		}
	}
}
