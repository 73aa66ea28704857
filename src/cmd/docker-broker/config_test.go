package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaultsAreTheBOSHJobs(t *testing.T) {
	c, _, err := loadConfig(writeFile(t, "broker.json", `{"username": "broker", "password": "long-enough", "external_host": "10.0.0.5", "services": []}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.DockerSocket != "/var/vcap/sys/run/docker/docker.sock" || c.StateFile != "/var/vcap/store/docker-broker/state.db" || c.ports != [2]int{20000, 29999} {
		t.Errorf("defaults: socket %q, state %q, ports %v", c.DockerSocket, c.StateFile, c.ports)
	}
}

func TestConfigProblemsNameTheirField(t *testing.T) {
	_, _, err := loadConfig(writeFile(t, "broker.json", `{
		"password": "short", "address": "localhost", "port": 70000, "bind_ip": "any",
		"port_range": "40000-30000", "data_dir": "relative", "tls": {"cert": "/c.pem"},
		"services": [{"id": "s", "name": "svc", "description": "d", "plans": [{"id": "p", "name": "free", "description": "d",
			"container": {"backend": "docker", "image": "redis", "memory": "1x"}}]}]
	}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, field := range []string{"username:", "password:", "address:", "port:", "bind_ip:", "port_range:", "data_dir:", "tls:", "external_host:", "services[0].plans[0].container.memory:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("no problem reported for %s in:\n%v", field, err)
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
