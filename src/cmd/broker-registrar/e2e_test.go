package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/cfstandin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	e2eAdminPassword = "e2e-cf-admin-password"
	e2eBrokerName    = "docker-broker"
)

// startBroker starts a docker-broker named name with the catalog services (the broker's
// `services` property, JSON) on the test binary's dockerd, served over HTTP, publishing
// instances on host ports in ports (each test a range of its own).
func startBroker(t testing.TB, services []byte, name string, ports [2]int) *brokertest.Broker {
	t.Helper()
	testenv.Docker(t).Standin(t, standin.Redis) // the only service these tests run
	return brokertest.Start(t, services, func(c *broker.Config) {
		c.Name = name
		c.PortRange = ports
	})
}

// registrarConfig is the errands' config for broker b, registered as e2eBrokerName with the
// Cloud Foundry cc as its admin.
func registrarConfig(cc *cfstandin.Server, b *brokertest.Broker) registrar.Config {
	return registrar.Config{
		CF:     registrar.CFConfig{APIURL: cc.URL, Username: "admin", Password: e2eAdminPassword, SkipSSLValidation: true},
		Broker: registrar.BrokerConfig{Name: e2eBrokerName, Endpoint: osbclient.Endpoint{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password}},
	}
}

// loginAsAdmin logs the session in to the Cloud Foundry at apiURL as admin and targets a new
// org demo, space dev, as a developer's first cf commands do.
func (s *cfSession) loginAsAdmin(apiURL string) {
	s.t.Helper()
	s.must("api", apiURL, "--skip-ssl-validation")
	if _, err := s.run([]string{e2eAdminPassword}, "auth", "admin", e2eAdminPassword); err != nil {
		s.t.Fatal(err)
	}
	s.must("create-org", "demo")
	s.must("create-space", "dev", "-o", "demo")
	s.must("target", "-o", "demo", "-s", "dev")
}

// runRegistrar runs the broker-registrar binary as an errand does with config cfg (a
// registrar.Config, an orphanreport.Config) and returns its output and exit error, failing
// the test if a password shows in the output.
func runRegistrar(t *testing.T, command string, cfg any) (string, error) {
	t.Helper()
	return runErrand(t, command, "registrar.json", cfg)
}

// runErrand runs the errands' program with command on cfg written as the errand's config file
// (named file, as the job renders it) and returns its output and exit error, failing the test
// if a password shows in the output.
func runErrand(t testing.TB, command, file string, cfg any) (string, error) {
	t.Helper()
	bin, err := testenv.Binary("broker-registrar")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), file)
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, command, path).CombinedOutput()
	t.Logf("$ broker-registrar %s %s\n%s", command, file, out)
	for _, secret := range []string{e2eAdminPassword, brokertest.Password} {
		if strings.Contains(string(out), secret) {
			t.Errorf("a password appears in the output of broker-registrar %s", command)
		}
	}
	return string(out), err
}

// serviceKey is `cf service-key`'s JSON: the binding's credentials in the seed's shape.
type serviceKey struct {
	Credentials keyCredentials `json:"credentials"`
}

// keyCredentials are a service key's credentials; username and uri come with the plans whose
// credentials name them.
type keyCredentials struct {
	Hostname string            `json:"hostname"`
	Port     string            `json:"port"`
	Ports    map[string]string `json:"ports"`
	Username string            `json:"username"`
	Password string            `json:"password"`
	URI      string            `json:"uri"`
}

// serviceKey runs `cf service-key instance key` and decodes the JSON it prints.
func (s *cfSession) serviceKey(instance, key string) serviceKey {
	s.t.Helper()
	out := s.must("service-key", instance, key)
	var k serviceKey
	if err := json.Unmarshal([]byte(out[max(strings.Index(out, "{"), 0):]), &k); err != nil {
		s.t.Fatalf("cf service-key %s %s does not print JSON: %v", instance, key, err)
	}
	return k
}

// TestCloudFoundryFlowWithTheRealCFCLI is the seed README's Cloud Foundry transcript: the
// registrar errand, then a developer's cf commands, against the Cloud Foundry stand-in, a
// real broker and a real Redis container; then the deregistrar errand.
func TestCloudFoundryFlowWithTheRealCFCLI(t *testing.T) {
	cf := newCFSession(t) // first: the build may take minutes on a new machine
	// The three seed services: the values of services/op-{postgresql96,mysql56,redis32}.yml.
	services, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, services, "e2e-"+e2eBrokerName, [2]int{20000, 20999})
	cc := cfstandin.Start(cfstandin.Options{AdminPassword: e2eAdminPassword})
	t.Cleanup(cc.Close)
	cfg := registrarConfig(cc, b)

	// bosh run-errand broker-registrar
	out, err := runRegistrar(t, "register", cfg)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	seedLines := "Enabling access to all plans of service postgresql96 for all orgs as admin...\nOK\n" +
		"Enabling access to all plans of service mysql56 for all orgs as admin...\nOK\n" +
		"Enabling access to all plans of service redis32 for all orgs as admin...\nOK\n"
	if !strings.HasSuffix(out, seedLines) || !strings.Contains(out, "Service broker 'docker-broker' does not exist - creating broker\n") {
		t.Fatalf("the registrar's output must finish with the seed README's lines")
	}

	cf.loginAsAdmin(cc.URL)

	market := cf.must("marketplace")
	for _, want := range []string{
		`mysql56\s+free\s+MySQL 5.6 service for application development and testing\s+docker-broker`,
		`postgresql96\s+free\s+PostgreSQL 9.6 service for application development and testing\s+docker-broker`,
		`redis32\s+free\s+Redis 3.2 service for application development and testing\s+docker-broker`,
	} {
		if !regexp.MustCompile(want).MatchString(market) {
			t.Errorf("cf marketplace lacks %q", want)
		}
	}

	cf.must("create-service", "redis32", "free", "redis1", "--wait")
	guid := strings.TrimSpace(cf.must("service", "redis1", "--guid"))
	if c, ok := b.Containers(t)[guid]; !ok || !c.Running {
		t.Fatalf("no running container for instance redis1 (%s): %v", guid, b.Containers(t))
	}

	cf.must("create-service-key", "redis1", "redis1-key", "--wait")
	c := cf.serviceKey("redis1", "redis1-key").Credentials
	if c.Hostname == "" || c.Port == "" || c.Ports["6379/tcp"] != c.Port || c.Password == "" {
		t.Fatalf("credentials not in the seed's shape (hostname, password, port, ports): %+v", c)
	}
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: net.JoinHostPort(c.Hostname, c.Port), Password: c.Password})
	defer client.Close()
	if err := client.Set(ctx, "seed", "README", 0).Err(); err != nil {
		t.Fatalf("writing with the service key's credentials: %v", err)
	}
	if got, err := client.Get(ctx, "seed").Result(); err != nil || got != "README" {
		t.Fatalf("reading back: %q %v", got, err)
	}

	bindings := cf.must("curl", "/v3/service_credential_bindings?names=redis1-key")
	var list struct{ Resources []struct{ GUID string } }
	if err := json.Unmarshal([]byte(bindings), &list); err != nil || len(list.Resources) != 1 {
		t.Fatalf("the key's binding in Cloud Foundry: %v", err)
	}
	bindingPath := "/v2/service_instances/" + guid + "/service_bindings/" + list.Resources[0].GUID
	if status := brokerStatus(t, b, bindingPath); status != http.StatusOK {
		t.Fatalf("the broker does not know the key's binding: %d", status)
	}
	cf.must("delete-service-key", "redis1", "redis1-key", "-f", "--wait")
	if status := brokerStatus(t, b, bindingPath); status != http.StatusNotFound {
		t.Errorf("after cf delete-service-key the broker answers %d for the binding, want 404", status)
	}
	cf.must("delete-service", "redis1", "-f", "--wait")
	if _, err := b.Docker.Engine.InspectContainer(ctx, "cf-"+guid); !dockerengine.IsNotFound(err) {
		t.Errorf("the container of redis1 is still there after cf delete-service: %v", err)
	}

	// bosh run-errand broker-deregistrar, with an instance left behind.
	cf.must("create-service", "redis32", "free", "redis2", "--wait")
	guid2 := strings.TrimSpace(cf.must("service", "redis2", "--guid"))
	out, err = runRegistrar(t, "deregister", cfg)
	if err == nil || !strings.Contains(out, "still has 1 service instance(s):\n  redis2 (service redis32, plan free) in org demo / space dev\n") {
		t.Fatalf("deregister with redis2 left must fail listing it: %v", err)
	}
	if _, ok := b.Containers(t)[guid2]; !ok {
		t.Fatal("a refused deregister removed the container of redis2")
	}
	cfg.PurgeInstances = true
	if _, err := runRegistrar(t, "deregister", cfg); err != nil {
		t.Fatalf("deregister with purge_instances: %v", err)
	}
	if _, err := b.Docker.Engine.InspectContainer(ctx, "cf-"+guid2); !dockerengine.IsNotFound(err) {
		t.Errorf("purge_instances left the container of redis2: %v", err)
	}
	if out := cf.must("service-brokers"); strings.Contains(out, e2eBrokerName) {
		t.Error("the broker is still registered after deregister")
	}
	if out := cf.must("marketplace"); !strings.Contains(out, "No service offerings found.") {
		t.Error("the marketplace still offers the broker's services")
	}
	for _, secret := range []string{e2eAdminPassword, brokertest.Password, c.Password} {
		if strings.Contains(b.Logs.String(), secret) {
			t.Error("a secret appears in the broker's log")
		}
	}
}

// brokerStatus is the status of a GET to the broker, as the platform would send it.
func brokerStatus(t *testing.T, b *brokertest.Broker, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(brokertest.Username, brokertest.Password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
