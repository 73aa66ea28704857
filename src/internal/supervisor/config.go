package supervisor

import (
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
)

// Config is the docker-supervisor's config file, rendered by the BOSH `docker` job from its
// properties (or written by the local run and the tests). The dockerd knobs are those of the
// predecessor's `docker` job (ancestors.md §2.2); Load fills the defaults of a BOSH VM.
type Config struct {
	Dockerd     string `json:"dockerd"`      // path of the dockerd binary; its directory also provides containerd, runc, docker-proxy
	DataRoot    string `json:"data_root"`    // --data-root, on the persistent disk
	ExecRoot    string `json:"exec_root"`    // --exec-root
	Pidfile     string `json:"pidfile"`      // --pidfile
	Socket      string `json:"socket"`       // unix socket path of the Engine API
	SocketGroup string `json:"socket_group"` // --group: who may use the socket besides root, default vcap
	LogFile     string `json:"log_file"`     // dockerd's own stdout and stderr

	TCP TCPConfig `json:"tcp"`

	StorageDriver  string   `json:"storage_driver"` // default overlay2: pinned, so that a dockerd upgrade never changes how the data root is read
	StorageOptions []string `json:"storage_options"`

	Bridge           string `json:"bridge"`      // --bridge: name of an existing (or created, see BridgeCIDR) bridge
	BridgeCIDR       string `json:"bridge_cidr"` // create Bridge with this address if it does not exist, e.g. "10.10.0.1/24"
	BIP              string `json:"bip"`         // --bip: address of the default docker0 bridge
	MTU              int    `json:"mtu"`
	IP               string `json:"ip"` // default host IP for published ports
	ICC              *bool  `json:"icc"`
	IPTables         *bool  `json:"iptables"`
	IPForward        *bool  `json:"ip_forward"`
	IPMasq           *bool  `json:"ip_masq"`
	IPv6             bool   `json:"ipv6"`
	UserlandProxy    *bool  `json:"userland_proxy"`
	DefaultGateway   string `json:"default_gateway"`
	DefaultGatewayV6 string `json:"default_gateway_v6"`

	DNSServers []string `json:"dns_servers"`
	DNSOptions []string `json:"dns_options"`
	DNSSearch  []string `json:"dns_search"`

	RegistryMirrors    []string `json:"registry_mirrors"`
	InsecureRegistries []string `json:"insecure_registries"`

	LogDriver  string   `json:"log_driver"`
	LogOptions []string `json:"log_options"` // "key=value"
	LogLevel   string   `json:"log_level"`
	Debug      bool     `json:"debug"`

	Labels         []string `json:"labels"`          // "key=value"
	DefaultUlimits []string `json:"default_ulimits"` // "nofile=1024:2048"
	ExecOptions    []string `json:"exec_options"`    // "native.cgroupdriver=cgroupfs"
	SELinux        bool     `json:"selinux_enabled"`
	LiveRestore    *bool    `json:"live_restore"` // default true: containers survive a dockerd restart

	MaxOpenFiles  uint64 `json:"max_open_files"`   // RLIMIT_NOFILE of dockerd
	VMMaxMapCount int    `json:"vm_max_map_count"` // sysctl vm.max_map_count, 0 leaves it alone

	Proxy ProxyConfig `json:"proxy"`

	ReadyTimeout config.Duration `json:"ready_timeout"` // how long dockerd may take to answer its API
	StopTimeout  config.Duration `json:"stop_timeout"`  // how long dockerd may take to stop before it is killed; default 15s, within bpm's 20s
	Restart      RestartConfig   `json:"restart"`

	Images ImagesConfig `json:"images"`

	// Swarm makes the engine a node of the deployment's swarm once it is ready (off by default).
	Swarm swarmjoin.Config `json:"swarm"`
}

// TCPConfig publishes the Engine API on TCP for remote clients. Off unless Address is set,
// and only with mutual TLS unless AllowInsecure says otherwise.
type TCPConfig struct {
	Address       string `json:"address"`
	Port          int    `json:"port"`
	CACert        string `json:"ca_cert"` // file paths of PEM files
	Cert          string `json:"cert"`
	Key           string `json:"key"`
	AllowInsecure bool   `json:"allow_insecure"`
}

// ProxyConfig is the HTTP proxy dockerd uses for image pulls.
type ProxyConfig struct {
	HTTP    string `json:"http_proxy"`
	HTTPS   string `json:"https_proxy"`
	NoProxy string `json:"no_proxy"`
}

// RestartConfig bounds how often a dying dockerd is restarted: the wait doubles from
// InitialBackoff up to MaxBackoff, and after MaxRetries failed starts in a row the supervisor
// gives up and exits non-zero, so that bpm and monit see the failure. A dockerd that stayed up
// for StableAfter resets the count.
type RestartConfig struct {
	MaxRetries     int             `json:"max_retries"`
	InitialBackoff config.Duration `json:"initial_backoff"`
	MaxBackoff     config.Duration `json:"max_backoff"`
	StableAfter    config.Duration `json:"stable_after"`
}

// ImagesConfig puts images into the engine once it is ready: every archive in PreloadDir
// (`docker save` files, plain or gzipped: air-gapped installs) is loaded, then every
// reference in Pull is pulled in the background.
type ImagesConfig struct {
	PreloadDir string   `json:"preload_dir"`
	Pull       []string `json:"pull"`
}

// Load reads a config file, applies the defaults and validates it.
func Load(path string) (Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return Config{}, err
	}
	c.applyDefaults()
	return c, c.Validate()
}

func boolPtr(b bool) *bool { return &b }

func (c *Config) applyDefaults() {
	setString(&c.Dockerd, "/var/vcap/packages/docker/bin/dockerd")
	setString(&c.DataRoot, "/var/vcap/store/docker/docker")
	setString(&c.Socket, "/var/vcap/sys/run/docker/docker.sock")
	runDir := filepath.Dir(c.Socket)
	setString(&c.ExecRoot, filepath.Join(runDir, "exec"))
	setString(&c.Pidfile, filepath.Join(runDir, "docker.pid"))
	setString(&c.LogFile, "/var/vcap/sys/log/docker/dockerd.log")
	setString(&c.SocketGroup, "vcap")
	setString(&c.StorageDriver, "overlay2")
	setString(&c.LogLevel, "info")
	for _, b := range []**bool{&c.ICC, &c.IPTables, &c.IPForward, &c.IPMasq, &c.UserlandProxy, &c.LiveRestore} {
		if *b == nil {
			*b = boolPtr(true)
		}
	}
	if c.TCP.Address != "" && c.TCP.Port == 0 {
		c.TCP.Port = 4243
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = 65536
	}
	setDuration(&c.ReadyTimeout, 60*time.Second)
	setDuration(&c.StopTimeout, 15*time.Second)
	if c.Restart.MaxRetries == 0 {
		c.Restart.MaxRetries = 10
	}
	setDuration(&c.Restart.InitialBackoff, time.Second)
	setDuration(&c.Restart.MaxBackoff, 30*time.Second)
	setDuration(&c.Restart.StableAfter, 2*time.Minute)
	c.Swarm.ApplyDefaults()
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setDuration(d *config.Duration, def time.Duration) {
	if *d == 0 {
		*d = config.Duration(def)
	}
}

var logLevels = map[string]bool{"debug": true, "info": true, "warn": true, "error": true, "fatal": true}

// Validate lists every problem of the config, each with its field path.
func (c Config) Validate() error {
	var errs config.Errors
	for _, f := range []struct {
		path, value string
	}{
		{"dockerd", c.Dockerd}, {"data_root", c.DataRoot}, {"exec_root", c.ExecRoot},
		{"pidfile", c.Pidfile}, {"socket", c.Socket}, {"log_file", c.LogFile},
	} {
		if !filepath.IsAbs(f.value) {
			errs.Add(f.path, "must be an absolute path, got %q", f.value)
		}
	}
	// The kernel limits unix socket paths to 108 bytes; dockerd would fail with a cryptic bind error.
	if len(c.Socket) > 100 {
		errs.Add("socket", "path is %d bytes long; unix sockets allow at most 100 here, choose a shorter path", len(c.Socket))
	}
	c.TCP.validate(&errs)
	c.Swarm.Validate(&errs)
	if c.Swarm.Enabled && c.Swarm.Manager && c.TCP.Address == "" {
		errs.Add("swarm.manager", "needs tcp.address: the other nodes ask a manager for the join token over its Engine API on TCP")
	}
	if c.Bridge != "" && c.BIP != "" {
		errs.Add("bip", "cannot be combined with bridge %q: bip configures docker0, remove one of them", c.Bridge)
	}
	if c.BridgeCIDR != "" {
		if c.Bridge == "" {
			errs.Add("bridge_cidr", "needs bridge: the name of the bridge to create")
		}
		if _, _, err := net.ParseCIDR(c.BridgeCIDR); err != nil {
			errs.Add("bridge_cidr", "%q is not an address with prefix length such as \"10.10.0.1/24\"", c.BridgeCIDR)
		}
	}
	if len(c.Bridge) > 15 {
		errs.Add("bridge", "%q is longer than the 15 characters Linux allows for an interface name", c.Bridge)
	}
	if c.BIP != "" {
		if _, _, err := net.ParseCIDR(c.BIP); err != nil {
			errs.Add("bip", "%q is not an address with prefix length such as \"172.18.0.1/16\"", c.BIP)
		}
	}
	for _, f := range []struct{ path, value string }{{"ip", c.IP}, {"default_gateway", c.DefaultGateway}, {"default_gateway_v6", c.DefaultGatewayV6}} {
		if f.value != "" && net.ParseIP(f.value) == nil {
			errs.Add(f.path, "%q is not an IP address", f.value)
		}
	}
	for i, s := range c.DNSServers {
		if net.ParseIP(s) == nil {
			errs.Add(config.Index("dns_servers", i), "%q is not an IP address", s)
		}
	}
	if c.MTU < 0 || c.MTU > 65535 {
		errs.Add("mtu", "%d is outside 0..65535 (0 keeps dockerd's default)", c.MTU)
	}
	for _, list := range []struct {
		path  string
		items []string
	}{{"log_options", c.LogOptions}, {"labels", c.Labels}, {"default_ulimits", c.DefaultUlimits}, {"exec_options", c.ExecOptions}, {"storage_options", c.StorageOptions}} {
		for i, item := range list.items {
			if k, _, ok := strings.Cut(item, "="); !ok || k == "" {
				errs.Add(config.Index(list.path, i), "%q must have the form key=value", item)
			}
		}
	}
	if c.LogOptions != nil && c.LogDriver == "" {
		errs.Add("log_driver", "is needed when log_options are set: name the driver they are for, e.g. \"json-file\"")
	}
	if !logLevels[c.LogLevel] {
		errs.Add("log_level", "%q is not one of debug, info, warn, error, fatal", c.LogLevel)
	}
	if c.VMMaxMapCount < 0 {
		errs.Add("vm_max_map_count", "must not be negative")
	}
	if c.Restart.MaxRetries < 0 {
		errs.Add("restart.max_retries", "must not be negative")
	}
	if c.Restart.MaxBackoff < c.Restart.InitialBackoff {
		errs.Add("restart.max_backoff", "%s is shorter than restart.initial_backoff %s", c.Restart.MaxBackoff.D(), c.Restart.InitialBackoff.D())
	}
	if c.Images.PreloadDir != "" && !filepath.IsAbs(c.Images.PreloadDir) {
		errs.Add("images.preload_dir", "must be an absolute path, got %q", c.Images.PreloadDir)
	}
	for i, ref := range c.Images.Pull {
		if ref == "" || strings.ContainsAny(ref, " \t\n") {
			errs.Add(config.Index("images.pull", i), "%q is not an image reference such as \"redis:7\"", ref)
		}
	}
	return errs.Err()
}

func (t TCPConfig) validate(errs *config.Errors) {
	if t.Address == "" {
		for _, f := range []struct{ path, value string }{{"tcp.ca_cert", t.CACert}, {"tcp.cert", t.Cert}, {"tcp.key", t.Key}} {
			if f.value != "" {
				errs.Add(f.path, "is set but tcp.address is empty: set tcp.address to publish the API on TCP, or remove the certificate")
			}
		}
		return
	}
	if net.ParseIP(t.Address) == nil {
		errs.Add("tcp.address", "%q is not an IP address", t.Address)
	}
	if t.Port < 1 || t.Port > 65535 {
		errs.Add("tcp.port", "%d is outside 1..65535", t.Port)
	}
	if t.AllowInsecure {
		return
	}
	for _, f := range []struct{ path, value string }{{"tcp.ca_cert", t.CACert}, {"tcp.cert", t.Cert}, {"tcp.key", t.Key}} {
		if f.value == "" {
			errs.Add(f.path, "is required when tcp.address is set: the Engine API on TCP is served with mutual TLS only (set tcp.allow_insecure to true to serve it without TLS)")
		} else if !filepath.IsAbs(f.value) {
			errs.Add(f.path, "must be the absolute path of a PEM file, got %q", f.value)
		}
	}
}
