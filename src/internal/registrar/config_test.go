package registrar

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

func validConfig() Config {
	return Config{
		CF:     CFConfig{APIURL: "https://api.example.com", Username: "admin", Password: "secret"},
		Broker: BrokerConfig{Name: "docker-broker", Endpoint: osbclient.Endpoint{URL: "http://10.0.0.5:8080", Username: "broker", Password: "broker-secret"}},
	}
}

func TestValidConfigsPass(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"user login": func(*Config) {},
		"client credentials": func(c *Config) {
			c.CF.Username, c.CF.Password, c.CF.ClientID, c.CF.ClientSecret = "", "", "registrar", "s3cret"
		},
		"orgs and allow-lists": func(c *Config) {
			c.Access = AccessConfig{Orgs: []string{"a", "b"}, Services: []string{"redis32"}, Plans: []string{"mysql56/free"}}
		},
		"space-scoped": func(c *Config) { c.SpaceScoped = SpaceScopedConfig{Org: "o", Space: "s"} },
	} {
		c := validConfig()
		change(&c)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestConfigProblemsNameTheirField checks that each mistake is reported at its field, and
// that all of a file's problems are reported at once.
func TestConfigProblemsNameTheirField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		paths  []string
	}{
		{"no api url", func(c *Config) { c.CF.APIURL = "" }, []string{"cf.api_url"}},
		{"api url without scheme", func(c *Config) { c.CF.APIURL = "api.example.com" }, []string{"cf.api_url"}},
		{"no credentials", func(c *Config) { c.CF.Username, c.CF.Password = "", "" }, []string{"cf"}},
		{"user without password", func(c *Config) { c.CF.Password = "" }, []string{"cf.password"}},
		{"both logins", func(c *Config) { c.CF.ClientID, c.CF.ClientSecret = "x", "y" }, []string{"cf"}},
		{"client without secret", func(c *Config) { c.CF.Username, c.CF.Password, c.CF.ClientID = "", "", "x" }, []string{"cf.client_secret"}},
		{"bad ca", func(c *Config) { c.CF.CACert = "not a certificate" }, []string{"cf.ca_cert"}},
		{"broker incomplete", func(c *Config) { c.Broker = BrokerConfig{Endpoint: osbclient.Endpoint{URL: "ftp://x"}} }, []string{"broker.name", "broker.url", "broker.username", "broker.password"}},
		{"credentials in url", func(c *Config) { c.Broker.URL = "http://u:p@10.0.0.5:8080" }, []string{"broker.url"}},
		{"bad plan entry", func(c *Config) { c.Access.Plans = []string{"redis32/free", "redis32"} }, []string{"access.plans[1]"}},
		{"empty and repeated orgs", func(c *Config) { c.Access.Orgs = []string{"a", "", "a"} }, []string{"access.orgs[1]", "access.orgs[2]"}},
		{"half a space", func(c *Config) { c.SpaceScoped.Org = "o" }, []string{"space_scoped"}},
		{"space-scoped with access", func(c *Config) {
			c.SpaceScoped = SpaceScopedConfig{Org: "o", Space: "s"}
			c.Access.Orgs = []string{"o"}
		}, []string{"access"}},
	} {
		c := validConfig()
		tc.change(&c)
		var errs config.Errors
		if err := c.Validate(); !errors.As(err, &errs) {
			t.Errorf("%s: got %v, want field errors", tc.name, err)
			continue
		}
		var got []string
		for _, e := range errs {
			got = append(got, e.Path)
		}
		if strings.Join(got, " ") != strings.Join(tc.paths, " ") {
			t.Errorf("%s: problems at %v, want %v (%v)", tc.name, got, tc.paths, errs)
		}
	}
}

func TestLoadConfigRefusesUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registrar.json")
	data := `{"cf":{"api_url":"https://api.example.com","username":"admin","password":"x","skip_ssl_validaton":true},
	          "broker":{"name":"b","url":"http://b:8080","username":"u","password":"p"}}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), "skip_ssl_validaton") {
		t.Fatalf("a misspelt field must be refused by name, got %v", err)
	}
}

func TestAccessAllowListNamesMustBeInTheCatalog(t *testing.T) {
	cat := osbclient.Catalog{Services: []osbclient.Service{
		{ID: "r", Name: "redis32", Plans: []osbclient.Plan{{ID: "r1", Name: "free"}, {ID: "r2", Name: "big"}}},
		{ID: "m", Name: "mysql56", Plans: []osbclient.Plan{{ID: "m1", Name: "free"}}},
	}}
	allowed, err := AccessConfig{Services: []string{"mysql56"}, Plans: []string{"redis32/big"}}.allowed(cat)
	if err != nil {
		t.Fatal(err)
	}
	if !allowed["m1"] || !allowed["r2"] || allowed["r1"] {
		t.Errorf("allowed plans %v, want m1 and r2", allowed)
	}
	all, _ := AccessConfig{}.allowed(cat)
	if len(all) != 3 {
		t.Errorf("no allow-list must allow every plan, got %v", all)
	}
	_, err = AccessConfig{Services: []string{"redis99"}, Plans: []string{"mysql56/huge"}}.allowed(cat)
	if err == nil || !strings.Contains(err.Error(), "access.services[0]") || !strings.Contains(err.Error(), "access.plans[0]") {
		t.Errorf("unknown names must be refused at their entries, got %v", err)
	}
}
