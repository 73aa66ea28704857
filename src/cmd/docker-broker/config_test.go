package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigDefaultsAreTheBOSHJobs: a config that leaves a key out must mean what the
// docker-broker job renders for it when the manifest sets nothing, so that a broker configured
// by hand (the local run, tests) behaves as on a BOSH VM.
func TestConfigDefaultsAreTheBOSHJobs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mismatches, err := boshrelease.DefaultMismatches(root, "docker-broker", "config/broker.json",
		map[string]any{"password": "long-enough"},
		func(path string) (any, error) {
			c, _, err := loadConfig(path)
			return c, err
		})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}

func TestConfigProblemsNameTheirField(t *testing.T) {
	_, _, err := loadConfig(writeFile(t, "broker.json", `{
		"password": "short", "address": "localhost", "port": 70000, "bind_ip": "any",
		"port_range": "40000-30000", "data_dir": "relative", "tls": {"cert": "/c.pem"},
		"metrics": {"port": 70000, "password": "short"},
		"dashboard": {"username": "viewer"},
		"swarm": {"enabled": true, "nodes": ["10.0.0.11"], "tls": {"cert": "client.pem"}, "max_containers_per_node": -1},
		"services": [{"id": "s", "name": "svc", "description": "d", "plans": [{"id": "p", "name": "free", "description": "d",
			"container": {"backend": "docker", "image": "redis", "memory": "1x"}}]}]
	}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, field := range []string{"username:", "password:", "address:", "port:", "bind_ip:", "port_range:", "data_dir:", "tls:", "external_host:", "metrics.port:", "metrics:", "dashboard:", "services[0].plans[0].container.memory:",
		"swarm.nodes[0]:", "swarm.tls.ca_cert:", "swarm.tls.cert:", "swarm.tls.key:", "swarm.max_containers_per_node:", "swarm.disk_helper_image:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("no problem reported for %s in:\n%v", field, err)
		}
	}
}

func TestMetricsCredentialsAreTheBrokersUnlessSet(t *testing.T) {
	base := `"username": "broker", "password": "broker-password", "external_host": "h", "services": []`
	c, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.metricsCredentials(); got.Username != "broker" || got.Password != "broker-password" || !c.Metrics.Enabled {
		t.Errorf("metrics on %v with %+v, want on with the broker's credentials", c.Metrics.Enabled, got)
	}
	c, _, err = loadConfig(writeFile(t, "broker.json", `{`+base+`, "metrics": {"username": "prometheus", "password": "scrape-password"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.metricsCredentials(); got.Username != "prometheus" || got.Password != "scrape-password" {
		t.Errorf("metrics credentials %+v, want prometheus's", got)
	}
	if _, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`, "metrics": {"port": 8080}}`)); err == nil || !strings.Contains(err.Error(), "metrics.port") {
		t.Errorf("metrics on the broker's own port given as metrics.port: %v, want a metrics.port problem", err)
	}
}

// The dashboard's credentials are set and checked as the metrics' (above) are.
func TestDashboardCredentialsAreTheBrokersUnlessSet(t *testing.T) {
	base := `"username": "broker", "password": "broker-password", "external_host": "h", "services": []`
	for dashboard, want := range map[string]string{`{}`: "broker", `{"username": "operator", "password": "look-password"}`: "operator"} {
		c, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`, "dashboard": `+dashboard+`}`))
		if got := c.dashboardCredentials(); err != nil || got.Username != want || !c.Dashboard.Enabled {
			t.Errorf("dashboard %s: on %v as %q (%v), want on as %q", dashboard, c.Dashboard.Enabled, got.Username, err, want)
		}
	}
	if _, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`, "dashboard": {"username": "operator", "password": "short"}}`)); err == nil || !strings.Contains(err.Error(), "dashboard.password") {
		t.Errorf("a short dashboard password: %v, want a dashboard.password problem", err)
	}
}

func TestTheDevelopersDashboardNeedsTheBrokersURLAndCloudControllers(t *testing.T) {
	base := `"username": "broker", "password": "broker-password", "external_host": "h", "services": []`
	for config, problem := range map[string]string{
		`{"external_url": "https://broker.example.com"}`:                                    "dashboard:",
		`{"external_url": "broker.example.com", "cloud_controller": "https://api.example"}`: "dashboard.external_url:",
		`{"external_url": "https://broker.example.com", "cloud_controller": "ftp://api"}`:   "dashboard.cloud_controller:",
	} {
		if _, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`, "dashboard": `+config+`}`)); err == nil || !strings.Contains(err.Error(), problem) {
			t.Errorf("dashboard %s: %v, want a %s problem", config, err, problem)
		}
	}
	c, _, err := loadConfig(writeFile(t, "broker.json", `{`+base+`, "dashboard": {"external_url": "https://broker.example.com", "cloud_controller": "https://api.example.com"}}`))
	if err != nil || !c.Dashboard.developerDashboard() {
		t.Errorf("a complete developers' dashboard config: %v, served %v", err, c.Dashboard.developerDashboard())
	}

	// A dashboard_client UAA would not send back to the dashboard's callback is warned of.
	withClient := func(redirectURI string) string {
		return `"username": "broker", "password": "broker-password", "external_host": "h", "services": [{"id": "s", "name": "svc", "description": "d",
			"dashboard_client": {"id": "c", "secret": "s", "redirect_uri": "` + redirectURI + `"},
			"plans": [{"id": "p", "name": "free", "description": "d", "container": {"backend": "docker", "image": "redis"}}]}]`
	}
	developers := `"dashboard": {"external_url": "https://broker.example.com/", "cloud_controller": "https://api.example.com"}`
	for services, warning := range map[string]string{
		withClient("https://broker.example.com/manage/callback") + ", " + developers: "",
		withClient("https://elsewhere.example.com/sso") + ", " + developers:          "services[0].dashboard_client.redirect_uri",
		withClient("https://broker.example.com/manage/callback"):                     "no developers' dashboard",
	} {
		_, warnings, err := loadConfig(writeFile(t, "broker.json", `{`+services+`}`))
		if got := strings.Join(warnings, "\n"); err != nil || (warning == "") != (got == "") || !strings.Contains(got, warning) {
			t.Errorf("%s: warnings %q (%v), want one about %q", services, got, err, warning)
		}
	}
}

func TestPortRangeStaysOutOfPrivilegedPorts(t *testing.T) {
	for _, bad := range []string{"80-90", "20000", "a-b", "30000-70000"} {
		if _, err := parsePortRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if r, err := parsePortRange("20000-20099"); err != nil || r != [2]int{20000, 20099} {
		t.Errorf("20000-20099: %v %v", r, err)
	}
}
