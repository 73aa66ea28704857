package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	boshtpl "github.com/cloudfoundry/bosh-cli/v7/director/template"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// brokerLink is the servicebroker link as the docker-broker job provides it.
func brokerLink(properties map[string]any) boshrelease.Link {
	return boshrelease.Link{
		Properties: properties,
		Instances:  []boshrelease.LinkInstance{{Name: "docker", Index: 0, ID: "b1", Address: "10.244.0.144"}},
		Address:    "q-s0.docker.default.docker-broker.bosh",
	}
}

// renderJob renders a job's templates with the bosh-cli ERB renderer, as a director would on
// an errand VM, and returns the rendered job directory.
func renderJob(t *testing.T, job string, properties map[string]any, links map[string]boshrelease.Link) (string, error) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	j, err := boshrelease.LoadJob(filepath.Join(root, "jobs", job))
	if err != nil {
		t.Fatal(err)
	}
	r, err := boshrelease.NewRenderer()
	if err != nil {
		t.Skipf("no ERB renderer here: %v", err)
	}
	defer r.Close()
	dst := t.TempDir()
	instance := boshrelease.Instance{Deployment: "docker-broker", Group: job, ID: "e1", Address: "10.244.0.150", IP: "10.244.0.150", Network: "default"}
	return dst, r.RenderJob(j, boshrelease.TemplateContext{Instance: instance, Properties: properties, Links: links}, dst)
}

// renderErrand renders a registrar errand job and returns its config, checked by
// check-config, and its bin/run.
func renderErrand(t *testing.T, job string, properties map[string]any, links map[string]boshrelease.Link) (registrar.Config, string, error) {
	t.Helper()
	return renderErrandWith(t, job, "registrar.json", registrar.LoadConfig, properties, links)
}

// renderErrandWith renders an errand job, loads its config/<config> with load and returns it
// with its bin/run; the rendered config also passes `broker-registrar check-config`.
func renderErrandWith[C any](t *testing.T, job, config string, load func(string) (C, error), properties map[string]any, links map[string]boshrelease.Link) (C, string, error) {
	t.Helper()
	var cfg C
	dst, err := renderJob(t, job, properties, links)
	if err != nil {
		return cfg, "", err
	}
	path := filepath.Join(dst, "config", config)
	if cfg, err = load(path); err != nil {
		t.Fatalf("the rendered config does not load: %v", err)
	}
	run, err := os.ReadFile(filepath.Join(dst, "bin", "run"))
	if err != nil {
		t.Fatal(err)
	}
	runCheckConfig(t, path)
	return cfg, string(run), nil
}

// runCheckConfig runs `broker-registrar check-config` on a rendered config, as the release's
// own check does.
func runCheckConfig(t *testing.T, path string) {
	t.Helper()
	if out, err := exec.Command(binary(t), "check-config", path).CombinedOutput(); err != nil {
		t.Errorf("check-config refuses the rendered config: %v\n%s", err, out)
	}
}

func cfProperties() map[string]any {
	return map[string]any{"cf": map[string]any{"api_url": "https://api.example.com", "username": "admin", "password": "cf-admin-secret"}}
}

// newCA is the PEM of a CA certificate that the vars store generates.
func newCA(t *testing.T, name string) string {
	t.Helper()
	store := boshrelease.NewVarsStore()
	if _, _, err := store.Get(boshtpl.VariableDefinition{Name: name, Type: "certificate", Options: map[any]any{"is_ca": true, "common_name": name}}); err != nil {
		t.Fatal(err)
	}
	ca, err := store.Certificate(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca.Certificate
}

func TestErrandsTakeTheBrokerFromTheLink(t *testing.T) {
	testCA, otherTestCA := newCA(t, "docker-broker-ca"), newCA(t, "other-ca")
	for _, job := range []string{"broker-registrar", "broker-deregistrar"} {
		link := brokerLink(map[string]any{"name": "docker-broker", "username": "broker", "password": "broker-secret", "port": 8080, "protocol": "http", "external_host": nil, "url": nil})
		cfg, run, err := renderErrand(t, job, cfProperties(), map[string]boshrelease.Link{"servicebroker": link})
		if err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		want := registrar.BrokerConfig{Name: "docker-broker", Endpoint: osbclient.Endpoint{URL: "http://10.244.0.144:8080", Username: "broker", Password: "broker-secret"}}
		if cfg.Broker != want {
			t.Errorf("%s: broker %+v, want %+v", job, cfg.Broker, want)
		}
		command := map[string]string{"broker-registrar": "register", "broker-deregistrar": "deregister"}[job]
		if !strings.Contains(run, "exec /var/vcap/packages/docker-broker/bin/broker-registrar "+command+" /var/vcap/jobs/"+job+"/config/registrar.json") {
			t.Errorf("%s: bin/run does not run the registrar:\n%s", job, run)
		}

		link.Properties["external_host"], link.Properties["protocol"] = "broker.example.com", "https"
		if cfg, _, _ := renderErrand(t, job, cfProperties(), map[string]boshrelease.Link{"servicebroker": link}); cfg.Broker.URL != "https://broker.example.com:8080" {
			t.Errorf("%s: with external_host the URL is %s", job, cfg.Broker.URL)
		}
		link.Properties["url"] = "https://docker-broker.system.example.com"
		if cfg, _, _ := renderErrand(t, job, cfProperties(), map[string]boshrelease.Link{"servicebroker": link}); cfg.Broker.URL != "https://docker-broker.system.example.com" {
			t.Errorf("%s: the link's url must win, got %s", job, cfg.Broker.URL)
		}
		// The broker's CA comes with the link (operators/broker-tls.yml); the property wins.
		link.Properties["tls"] = map[string]any{"ca": testCA}
		if cfg, _, _ := renderErrand(t, job, cfProperties(), map[string]boshrelease.Link{"servicebroker": link}); cfg.Broker.CACert != testCA {
			t.Errorf("%s: the link's tls.ca must be the broker's ca_cert, got %q", job, cfg.Broker.CACert)
		}
		props := cfProperties()
		props["servicebroker"] = map[string]any{"ca_cert": otherTestCA}
		if cfg, _, _ := renderErrand(t, job, props, map[string]boshrelease.Link{"servicebroker": link}); cfg.Broker.CACert != otherTestCA {
			t.Errorf("%s: servicebroker.ca_cert must override the link's CA, got %q", job, cfg.Broker.CACert)
		}
	}
}

func TestErrandPropertiesOverrideTheLink(t *testing.T) {
	props := cfProperties()
	props["servicebroker"] = map[string]any{"url": "https://elsewhere:443", "name": "other", "username": "u", "password": "p", "skip_ssl_validation": true}
	props["access"] = map[string]any{"orgs": []string{"team"}, "plans": []string{"redis32/free"}}
	link := brokerLink(map[string]any{"name": "docker-broker", "username": "broker", "password": "broker-secret", "port": 8080, "protocol": "http"})
	cfg, _, err := renderErrand(t, "broker-registrar", props, map[string]boshrelease.Link{"servicebroker": link})
	if err != nil {
		t.Fatal(err)
	}
	want := registrar.BrokerConfig{Name: "other", Endpoint: osbclient.Endpoint{URL: "https://elsewhere:443", Username: "u", Password: "p", SkipSSLValidation: true}}
	if cfg.Broker != want || len(cfg.Access.Orgs) != 1 || cfg.Access.Plans[0] != "redis32/free" {
		t.Errorf("rendered %+v", cfg)
	}

	// Without the link, the properties alone must name the broker.
	props = cfProperties()
	props["purge_instances"] = true
	props["servicebroker"] = map[string]any{"url": "http://10.0.0.5:8080", "name": "docker-broker", "username": "broker", "password": "broker-secret"}
	if cfg, _, err := renderErrand(t, "broker-deregistrar", props, nil); err != nil || !cfg.PurgeInstances || cfg.Broker.URL != "http://10.0.0.5:8080" {
		t.Errorf("deregistrar without a link: %+v %v", cfg, err)
	}
	delete(props["servicebroker"].(map[string]any), "url")
	if _, _, err := renderErrand(t, "broker-deregistrar", props, nil); err == nil || !strings.Contains(err.Error(), "servicebroker.url is not set") {
		t.Errorf("without a link and without servicebroker.url the rendering must fail naming it, got %v", err)
	}
}
