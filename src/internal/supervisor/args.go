package supervisor

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// dockerdArgs turns the config into dockerd's command line. Every knob that is unset keeps
// dockerd's own default, so the command line shows only what the operator chose.
func (c Config) dockerdArgs() []string {
	args := []string{
		"--data-root=" + c.DataRoot,
		"--exec-root=" + c.ExecRoot,
		"--pidfile=" + c.Pidfile,
		"--host=unix://" + c.Socket,
		"--group=" + c.SocketGroup,
		"--log-level=" + c.LogLevel,
		"--live-restore=" + strconv.FormatBool(*c.LiveRestore),
		"--icc=" + strconv.FormatBool(*c.ICC),
		"--iptables=" + strconv.FormatBool(*c.IPTables),
		"--ip-forward=" + strconv.FormatBool(*c.IPForward),
		"--ip-masq=" + strconv.FormatBool(*c.IPMasq),
		"--userland-proxy=" + strconv.FormatBool(*c.UserlandProxy),
	}
	if c.TCP.Address != "" {
		args = append(args, "--host=tcp://"+net.JoinHostPort(c.TCP.Address, strconv.Itoa(c.TCP.Port)))
		if !c.TCP.AllowInsecure {
			args = append(args, "--tlsverify", "--tlscacert="+c.TCP.CACert, "--tlscert="+c.TCP.Cert, "--tlskey="+c.TCP.Key)
		}
	}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name+"="+value)
		}
	}
	each := func(name string, values []string) {
		for _, v := range values {
			args = append(args, "--"+name+"="+v)
		}
	}
	flag("storage-driver", c.StorageDriver)
	each("storage-opt", c.StorageOptions)
	flag("bridge", c.Bridge)
	flag("bip", c.BIP)
	if c.MTU > 0 {
		flag("mtu", strconv.Itoa(c.MTU))
	}
	flag("ip", c.IP)
	if c.IPv6 {
		args = append(args, "--ipv6")
	}
	flag("default-gateway", c.DefaultGateway)
	flag("default-gateway-v6", c.DefaultGatewayV6)
	each("dns", c.DNSServers)
	each("dns-opt", c.DNSOptions)
	each("dns-search", c.DNSSearch)
	each("registry-mirror", c.RegistryMirrors)
	each("insecure-registry", c.InsecureRegistries)
	flag("log-driver", c.LogDriver)
	each("log-opt", c.LogOptions)
	if c.Debug {
		args = append(args, "--debug")
	}
	each("label", c.Labels)
	each("default-ulimit", c.DefaultUlimits)
	each("exec-opt", c.ExecOptions)
	if c.SELinux {
		args = append(args, "--selinux-enabled")
	}
	return args
}

// dockerdEnv is dockerd's environment: the supervisor's own, the proxy settings in both
// spellings (Go's and curl's conventions differ between tools), and a PATH that starts with the
// dockerd binary's directory, where dockerd looks for containerd, runc and docker-proxy.
func (c Config) dockerdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(key) {
		case "PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY":
			continue
		}
		env = append(env, kv)
	}
	path := filepath.Dir(c.Dockerd)
	if p := os.Getenv("PATH"); p != "" {
		path += ":" + p
	} else {
		path += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	env = append(env, "PATH="+path)
	for _, p := range []struct{ name, value string }{{"HTTP_PROXY", c.Proxy.HTTP}, {"HTTPS_PROXY", c.Proxy.HTTPS}, {"NO_PROXY", c.Proxy.NoProxy}} {
		if p.value != "" {
			env = append(env, p.name+"="+p.value, strings.ToLower(p.name)+"="+p.value)
		}
	}
	return env
}
