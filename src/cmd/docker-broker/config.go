package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dashboard"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Config is the broker's config file, rendered by the BOSH `docker-broker` job (or written by
// the local run and the tests).
type Config struct {
	Name     string `json:"name"`     // the broker's name: registered with the platform, and the label of its containers
	Address  string `json:"address"`  // listen address, default 0.0.0.0
	Port     int    `json:"port"`     // listen port, default 8080
	Username string `json:"username"` // basic auth the platform must present
	Password string `json:"password"`
	TLS      struct {
		Cert string `json:"cert"` // PEM file paths; both or neither
		Key  string `json:"key"`
	} `json:"tls"`

	DockerSocket string `json:"docker_socket"` // the Engine API, default the docker job's socket
	// ExternalHost is the host name or IP apps connect to: it goes into credentials.
	ExternalHost string `json:"external_host"`
	// BindIP is the host address containers' ports are published on, default 0.0.0.0.
	BindIP    string `json:"bind_ip"`
	PortRange string `json:"port_range"` // "20000-29999": host ports for instances

	DataDir   string          `json:"data_dir"`   // instance directories, on the persistent disk
	StateFile string          `json:"state_file"` // the broker's bbolt file, on the persistent disk
	Retention config.Duration `json:"retention"`  // keep a deleted instance's data this long (0: delete at once)

	MaxContainers   int             `json:"max_containers"`   // 0 is unlimited
	FetchImages     bool            `json:"fetch_images"`     // pull every plan's image in the background at start, default true
	SyncTimeout     config.Duration `json:"sync_timeout"`     // for requests without accepts_incomplete
	StopGrace       config.Duration `json:"stop_grace"`       // before a stopping container is killed
	TombstoneWindow config.Duration `json:"tombstone_window"` // last_operation "succeeded" after a delete

	Services json.RawMessage `json:"services"`

	Metrics   MetricsConfig   `json:"metrics"`
	Dashboard DashboardConfig `json:"dashboard"`
	Swarm     SwarmConfig     `json:"swarm"`

	catalog *catalog.Catalog
	ports   [2]int
}

// MetricsConfig is Prometheus's scrape endpoint, /metrics.
type MetricsConfig struct {
	Enabled bool `json:"enabled"` // default true
	// Port, when set, serves /metrics on a listener of its own (on Address, with the broker's
	// TLS); 0 serves it on the broker's listener.
	Port int `json:"port"`
	// Username and Password are the basic auth a scrape must present; empty: the broker's own.
	Username string `json:"username"`
	Password string `json:"password"`
}

// metricsCredentials are the credentials /metrics asks for.
func (c *Config) metricsCredentials() osbapi.Credentials {
	return c.ownCredentials(c.Metrics.Username, c.Metrics.Password)
}

// ownCredentials are an endpoint's own username and password, or the broker's when it has none.
func (c *Config) ownCredentials(username, password string) osbapi.Credentials {
	if username == "" {
		return osbapi.Credentials{Username: c.Username, Password: c.Password}
	}
	return osbapi.Credentials{Username: username, Password: password}
}

// checkOwnCredentials adds the problems of an endpoint's own credentials (config key key).
func checkOwnCredentials(errs *config.Errors, key, username, password string) {
	if (username == "") != (password == "") {
		errs.Add(key, "needs both username and password, or neither to take the broker's")
	} else if password != "" && len(password) < 8 {
		errs.Add(key+".password", "must be at least 8 characters")
	}
}

// DashboardConfig is the operator's dashboard at /dashboard.
type DashboardConfig struct {
	Enabled bool `json:"enabled"` // default true
	// Username and Password are the basic auth the dashboard asks for; empty: the broker's own.
	// With a pair of its own the broker's credentials do not open it: those who only look need
	// not hold the credentials that provision.
	Username string `json:"username"`
	Password string `json:"password"`
	// ExternalURL (the broker's URL as browsers reach it) and CloudController (the CF API's
	// URL) turn on the app developers' dashboard at /manage: instances of offerings with a
	// dashboard_client get a dashboard_url there, and developers sign on through UAA.
	ExternalURL     string `json:"external_url"`
	CloudController string `json:"cloud_controller"`
	// CloudControllerCA is the PEM certificate of a CA that signed Cloud Controller's and
	// UAA's certificates, trusted besides the system's.
	CloudControllerCA string `json:"cloud_controller_ca_cert"`
}

// SwarmConfig puts the instances on the Docker Swarm the docker VMs form
// (operators/scale-out.yml): docker_socket is then a manager's engine, and every node's own
// engine is reached on TCP with mutual TLS for the work on its disk and containers.
type SwarmConfig struct {
	Enabled bool `json:"enabled"`
	// Nodes are the Engine APIs (host:port) of every docker VM, the broker's own included. A
	// node's host is also where apps reach the ports of its instances.
	Nodes []string `json:"nodes"`
	// TLS are the PEM files of the CA that signed the nodes' server certificate and of the
	// client certificate the broker presents; ServerName is the name the server certificate
	// carries (the nodes are reached at their IP).
	TLS struct {
		CACert     string `json:"ca_cert"`
		Cert       string `json:"cert"`
		Key        string `json:"key"`
		ServerName string `json:"server_name"`
	} `json:"tls"`
	// MaxContainersPerNode bounds the instances on one node; 0 is unlimited.
	MaxContainersPerNode int `json:"max_containers_per_node"`
	// DiskHelperImage is the image of the helper containers that work on a node's disk: one
	// with a POSIX shell and GNU tar, on every node.
	DiskHelperImage string `json:"disk_helper_image"`
}

// check adds the problems of an enabled swarm section.
func (s SwarmConfig) check(errs *config.Errors) {
	if !s.Enabled {
		return
	}
	if len(s.Nodes) == 0 {
		errs.Add("swarm.nodes", "is required with swarm.enabled: the Engine API (host:port) of every docker VM, from the docker link")
	}
	for i, n := range s.Nodes {
		if _, _, err := net.SplitHostPort(n); err != nil {
			errs.Add(fmt.Sprintf("swarm.nodes[%d]", i), "%q is not host:port of a docker VM's Engine API (e.g. 10.0.0.11:2376)", n)
		}
	}
	for _, f := range []struct{ key, value string }{{"swarm.tls.ca_cert", s.TLS.CACert}, {"swarm.tls.cert", s.TLS.Cert}, {"swarm.tls.key", s.TLS.Key}} {
		if !filepath.IsAbs(f.value) {
			errs.Add(f.key, "must be the absolute path of a PEM file with swarm.enabled (the nodes' Engine API takes mutual TLS only), got %q", f.value)
		}
	}
	if s.MaxContainersPerNode < 0 {
		errs.Add("swarm.max_containers_per_node", "must not be negative (0 is unlimited)")
	}
	if s.DiskHelperImage == "" {
		errs.Add("swarm.disk_helper_image", "is required with swarm.enabled: an image with a POSIX shell and GNU tar that every node has (a plan's Debian-based image: the broker pulls every plan's image on every node)")
	}
}

// developerDashboard tells whether the developers' dashboard is served.
func (d DashboardConfig) developerDashboard() bool { return d.ExternalURL != "" }

// dashboardCredentials are the credentials /dashboard asks for.
func (c *Config) dashboardCredentials() osbapi.Credentials {
	return c.ownCredentials(c.Dashboard.Username, c.Dashboard.Password)
}

func (c *Config) applyDefaults() {
	if c.Name == "" {
		c.Name = "docker-broker"
	}
	if c.Address == "" {
		c.Address = "0.0.0.0"
	}
	if c.Port == 0 {
		c.Port = 8080
	}
	if c.DockerSocket == "" {
		c.DockerSocket = "/var/vcap/sys/run/docker/docker.sock"
	}
	if c.BindIP == "" {
		c.BindIP = "0.0.0.0"
	}
	if c.PortRange == "" {
		c.PortRange = "20000-29999"
	}
	if c.DataDir == "" {
		c.DataDir = "/var/vcap/store/docker-broker/instances"
	}
	if c.StateFile == "" {
		c.StateFile = "/var/vcap/store/docker-broker/state.db"
	}
	defaults := []struct {
		d   *config.Duration
		def time.Duration
	}{{&c.SyncTimeout, 50 * time.Second}, {&c.StopGrace, 30 * time.Second}, {&c.TombstoneWindow, 24 * time.Hour}}
	for _, d := range defaults {
		if *d.d == 0 {
			*d.d = config.Duration(d.def)
		}
	}
}

// loadConfig reads, defaults and validates the config file; the returned warnings are about
// catalog entries that load but look wrong.
func loadConfig(path string) (Config, []string, error) {
	// A bool's zero value cannot tell an absent fetch_images from false: its default is in
	// place before decoding.
	c := Config{FetchImages: true, Metrics: MetricsConfig{Enabled: true}, Dashboard: DashboardConfig{Enabled: true}}
	if err := config.Load(path, &c); err != nil {
		return c, nil, err
	}
	c.applyDefaults()
	var errs config.Errors
	if c.Username == "" {
		errs.Add("username", "is required: the platform authenticates with it")
	}
	if len(c.Password) < 8 {
		errs.Add("password", "must be at least 8 characters: it guards every instance's credentials")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs.Add("tls", "needs both cert and key (PEM file paths), or neither to serve plain HTTP")
	}
	if net.ParseIP(c.Address) == nil {
		errs.Add("address", "%q is not an IP address to listen on", c.Address)
	}
	if c.Port < 1 || c.Port > 65535 {
		errs.Add("port", "%d is outside 1..65535", c.Port)
	}
	if c.ExternalHost == "" {
		errs.Add("external_host", "is required: the host name or IP apps reach the service containers at (the VM's address)")
	}
	if net.ParseIP(c.BindIP) == nil {
		errs.Add("bind_ip", "%q is not an IP address", c.BindIP)
	}
	if ports, err := parsePortRange(c.PortRange); err != nil {
		errs.Add("port_range", "%v", err)
	} else {
		c.ports = ports
	}
	for _, f := range []struct{ path, value string }{{"data_dir", c.DataDir}, {"state_file", c.StateFile}, {"docker_socket", c.DockerSocket}} {
		if !filepath.IsAbs(f.value) {
			errs.Add(f.path, "must be an absolute path, got %q", f.value)
		}
	}
	if c.Metrics.Port < 0 || c.Metrics.Port > 65535 {
		errs.Add("metrics.port", "%d is outside 1..65535 (or 0: serve /metrics on the broker's own port)", c.Metrics.Port)
	} else if c.Metrics.Port == c.Port {
		errs.Add("metrics.port", "%d is the broker's port: leave it 0 to serve /metrics there, or choose another", c.Metrics.Port)
	}
	checkOwnCredentials(&errs, "metrics", c.Metrics.Username, c.Metrics.Password)
	checkOwnCredentials(&errs, "dashboard", c.Dashboard.Username, c.Dashboard.Password)
	if (c.Dashboard.ExternalURL == "") != (c.Dashboard.CloudController == "") {
		errs.Add("dashboard", "needs both external_url and cloud_controller for the developers' dashboard, or neither")
	}
	for _, f := range []struct{ path, value string }{{"dashboard.external_url", c.Dashboard.ExternalURL}, {"dashboard.cloud_controller", c.Dashboard.CloudController}} {
		if u, err := url.Parse(f.value); f.value != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			errs.Add(f.path, "%q is not an http(s) URL", f.value)
		}
	}
	c.Swarm.check(&errs)
	if c.MaxContainers < 0 {
		errs.Add("max_containers", "must not be negative (0 is unlimited)")
	}
	var warnings []string
	if len(c.Services) == 0 {
		errs.Add("services", "is required: the catalog of service offerings (an empty list is allowed)")
	} else {
		cat, warns, err := catalog.Parse(c.Services)
		warnings = warns
		var catErrs config.Errors
		switch {
		case errors.As(err, &catErrs):
			errs = append(errs, catErrs...)
		case err != nil:
			errs.Add("services", "%v", err)
		default:
			c.catalog = cat
			warnings = append(warnings, c.Dashboard.signOnWarnings(cat)...)
		}
	}
	return c, warnings, errs.Err()
}

// signOnWarnings are about dashboard_clients whose developers could not sign on: UAA sends
// them back only to the client's redirect_uri, which must be the developers' dashboard's
// callback.
func (d DashboardConfig) signOnWarnings(cat *catalog.Catalog) []string {
	callback := strings.TrimRight(d.ExternalURL, "/") + dashboard.CallbackPath
	var warnings []string
	for i, service := range cat.Services {
		switch {
		case service.DashboardClient == nil:
		case !d.developerDashboard():
			warnings = append(warnings, fmt.Sprintf("services[%d].dashboard_client: no developers' dashboard serves it (set dashboard.external_url and dashboard.cloud_controller), so %s's instances get no dashboard_url", i, service.Name))
		case service.DashboardClient.RedirectURI != callback:
			warnings = append(warnings, fmt.Sprintf("services[%d].dashboard_client.redirect_uri: %q is not the developers' dashboard's callback %q: UAA would send signing-on developers elsewhere", i, service.DashboardClient.RedirectURI, callback))
		}
	}
	return warnings
}

// parsePortRange reads "min-max".
func parsePortRange(s string) ([2]int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	min, err1 := strconv.Atoi(lo)
	max, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil {
		return [2]int{}, fmt.Errorf("%q is not a range such as \"20000-29999\"", s)
	}
	if min < 1024 || max > 65535 || min > max {
		return [2]int{}, fmt.Errorf("%q must lie within 1024-65535 with the lower bound first; keep it out of the kernel's ephemeral range (net.ipv4.ip_local_port_range, usually 32768-60999)", s)
	}
	return [2]int{min, max}, nil
}
