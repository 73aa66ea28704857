package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "supervisor.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadAppliesBOSHDefaults covers the defaults the docker job does not render (the others:
// TestDefaultsAreTheDockerJobs): they derive from the socket's directory.
func TestLoadAppliesBOSHDefaults(t *testing.T) {
	c, err := Load(writeConfig(t, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ExecRoot != "/var/vcap/sys/run/docker/exec" || c.Pidfile != "/var/vcap/sys/run/docker/docker.pid" {
		t.Errorf("exec root %q, pidfile %q: want them beside the socket", c.ExecRoot, c.Pidfile)
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	_, err := Load(writeConfig(t, `{
		"socket": "relative.sock",
		"tcp": {"address": "0.0.0.0", "cert": "cert.pem"},
		"bridge": "br-with-a-very-long-name", "bip": "10.0.0.1",
		"bridge_cidr": "nope",
		"dns_servers": ["8.8.8.8", "dns.example.com"],
		"log_options": ["max-size=10m", "broken"],
		"log_level": "loud",
		"mtu": 70000,
		"images": {"preload_dir": "images", "pull": ["redis:7", ""]},
		"restart": {"initial_backoff": "10s", "max_backoff": "1s"}
	}`))
	if err == nil {
		t.Fatal("a config full of mistakes was accepted")
	}
	for _, path := range []string{
		"socket:", "tcp.ca_cert:", "tcp.cert:", "tcp.key:", "bip:", "bridge:", "bridge_cidr:",
		"dns_servers[1]:", "log_options[1]:", "log_driver:", "log_level:", "mtu:",
		"images.preload_dir:", "images.pull[1]:", "restart.max_backoff:",
	} {
		if !strings.Contains(err.Error(), path) {
			t.Errorf("no problem reported for %s in:\n%v", strings.TrimSuffix(path, ":"), err)
		}
	}
	for _, fine := range []string{"dns_servers[0]", "log_options[0]", "images.pull[0]"} {
		if strings.Contains(err.Error(), fine) {
			t.Errorf("%s is valid but was reported:\n%v", fine, err)
		}
	}
}

func TestTCPWithoutTLSNeedsExplicitConsent(t *testing.T) {
	if _, err := Load(writeConfig(t, `{"tcp": {"address": "127.0.0.1", "port": 4243}}`)); err == nil {
		t.Fatal("plain TCP was accepted without allow_insecure")
	}
	c, err := Load(writeConfig(t, `{"tcp": {"address": "127.0.0.1", "port": 4243, "allow_insecure": true}}`))
	if err != nil {
		t.Fatalf("plain TCP with allow_insecure refused: %v", err)
	}
	if args := strings.Join(c.dockerdArgs(), " "); !strings.Contains(args, "--host=tcp://127.0.0.1:4243") || strings.Contains(args, "--tls") {
		t.Errorf("args %q: want a plain TCP host without TLS flags", args)
	}
}

func TestUnknownAndMistypedFieldsAreNamed(t *testing.T) {
	_, err := Load(writeConfig(t, `{"live_restor": false}`))
	if err == nil || !strings.Contains(err.Error(), "live_restor") {
		t.Errorf("a misspelt field must be reported by name, got %v", err)
	}
	_, err = Load(writeConfig(t, `{"mtu": "1500"}`))
	if err == nil || !strings.Contains(err.Error(), "mtu") {
		t.Errorf("a string for a number must name the field, got %v", err)
	}
	_, err = Load(writeConfig(t, `{"ready_timeout": "soon"}`))
	if err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("a bad duration must be quoted back, got %v", err)
	}
}

func TestASwarmManagerServesTheEngineAPIOnTCP(t *testing.T) {
	_, err := Load(writeConfig(t, `{"swarm": {"enabled": true, "manager": true, "advertise_address": "10.0.0.5",
		"managers": ["10.0.0.5:4243"], "ca_cert": "/ca.pem", "cert": "/cert.pem", "key": "/key.pem"}}`))
	if err == nil || !strings.Contains(err.Error(), "swarm.manager: needs tcp.address") {
		t.Fatalf("a manager without the Engine API on TCP: %v", err)
	}
}
