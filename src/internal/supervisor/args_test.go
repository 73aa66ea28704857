package supervisor

import (
	"slices"
	"strings"
	"testing"
)

func TestDockerdArgsCoverEveryKnob(t *testing.T) {
	no := false
	c := Config{
		Socket: "/run/d/docker.sock", SocketGroup: "vcap",
		TCP:           TCPConfig{Address: "0.0.0.0", Port: 4243, CACert: "/ca.pem", Cert: "/cert.pem", Key: "/key.pem"},
		StorageDriver: "overlay2", StorageOptions: []string{"overlay2.size=10G"},
		Bridge: "br0", MTU: 1400, IP: "10.0.0.5", IPTables: &no, UserlandProxy: &no, IPv6: true,
		DefaultGateway: "10.0.0.1", DNSServers: []string{"10.0.0.2"}, DNSOptions: []string{"ndots:1"}, DNSSearch: []string{"example.com"},
		RegistryMirrors: []string{"https://mirror.example.com"}, InsecureRegistries: []string{"reg.example.com:5000"},
		LogDriver: "json-file", LogOptions: []string{"max-size=10m"}, Debug: true,
		Labels: []string{"az=z1"}, DefaultUlimits: []string{"nofile=1024:2048"}, ExecOptions: []string{"native.cgroupdriver=cgroupfs"},
		SELinux: true,
	}
	c.Dockerd = "/pkgs/docker/bin/dockerd"
	c.applyDefaults()
	args := c.dockerdArgs()
	for _, want := range []string{
		"--host=unix:///run/d/docker.sock", "--group=vcap", "--host=tcp://0.0.0.0:4243", "--tlsverify",
		"--tlscacert=/ca.pem", "--tlscert=/cert.pem", "--tlskey=/key.pem", "--storage-driver=overlay2",
		"--storage-opt=overlay2.size=10G", "--bridge=br0", "--mtu=1400", "--ip=10.0.0.5", "--iptables=false",
		"--userland-proxy=false", "--ipv6", "--default-gateway=10.0.0.1", "--dns=10.0.0.2", "--dns-opt=ndots:1",
		"--dns-search=example.com", "--registry-mirror=https://mirror.example.com",
		"--insecure-registry=reg.example.com:5000", "--log-driver=json-file", "--log-opt=max-size=10m", "--debug",
		"--label=az=z1", "--default-ulimit=nofile=1024:2048", "--exec-opt=native.cgroupdriver=cgroupfs",
		"--selinux-enabled", "--live-restore=true", "--icc=true", "--ip-masq=true",
		"--exec-root=/run/d/exec", "--pidfile=/run/d/docker.pid",
	} {
		if !slices.Contains(args, want) {
			t.Errorf("missing %s in %s", want, strings.Join(args, " "))
		}
	}
}

func TestDockerdArgsLeaveUnsetKnobsToDockerd(t *testing.T) {
	var c Config
	c.applyDefaults()
	for _, arg := range c.dockerdArgs() {
		for _, unset := range []string{"--bridge", "--bip", "--mtu", "--dns", "--log-driver", "--tls", "--host=tcp"} {
			if strings.HasPrefix(arg, unset) {
				t.Errorf("%s passed although it was not configured", arg)
			}
		}
	}
}

func TestDockerdEnvCarriesProxiesAndPackagePath(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("http_proxy", "http://stale:1")
	c := Config{Dockerd: "/var/vcap/packages/docker/bin/dockerd", Proxy: ProxyConfig{HTTP: "http://proxy:3128", NoProxy: "localhost"}}
	env := c.dockerdEnv()
	for _, want := range []string{"PATH=/var/vcap/packages/docker/bin:/usr/bin", "HTTP_PROXY=http://proxy:3128", "http_proxy=http://proxy:3128", "NO_PROXY=localhost", "no_proxy=localhost"} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %v", want, env)
		}
	}
	if slices.Contains(env, "http_proxy=http://stale:1") {
		t.Error("the supervisor's own proxy setting must not leak past the configured one")
	}
}
