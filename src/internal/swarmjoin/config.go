package swarmjoin

import (
	"net"
	"path/filepath"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Config is the `swarm` section of docker-supervisor's config, rendered by the BOSH `docker`
// job from its swarm.* properties and its link to itself. Off unless Enabled: a single VM runs
// a plain engine.
type Config struct {
	Enabled bool `json:"enabled"`
	// AdvertiseAddress is this VM's IP: the address the other nodes reach this one at.
	AdvertiseAddress string `json:"advertise_address"`
	// Manager makes this node join as a manager (the first `swarm.managers` instances by
	// index), else as a worker.
	Manager bool `json:"manager"`
	// Bootstrap lets this node create the swarm when no manager answers (BOSH spec.bootstrap).
	Bootstrap bool `json:"bootstrap"`
	// Managers are the Engine API addresses ("ip:port", mutual TLS) of the instances that are
	// managers, asked for the join tokens. This node's own address may be among them.
	Managers []string `json:"managers"`
	// TLS client of the managers' Engine API: PEM files of the CA that signed their server
	// certificate, of the client certificate and of its key; ServerName is the name their
	// certificate carries (default "docker", the name of the docker job's certificate).
	CACert     string `json:"ca_cert"`
	Cert       string `json:"cert"`
	Key        string `json:"key"`
	ServerName string `json:"server_name"`
	// RetryInterval is the wait between attempts while no manager answers (default 5s).
	RetryInterval config.Duration `json:"retry_interval"`
}

// ApplyDefaults fills what the config leaves empty.
func (c *Config) ApplyDefaults() {
	if c.ServerName == "" {
		c.ServerName = "docker"
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = config.Duration(5 * time.Second)
	}
}

// Validate adds every problem of an enabled config to errs, under the path "swarm".
func (c Config) Validate(errs *config.Errors) {
	if !c.Enabled {
		return
	}
	if net.ParseIP(c.AdvertiseAddress) == nil {
		errs.Add("swarm.advertise_address", "%q is not an IP address: set it to the VM's IP (BOSH spec.ip)", c.AdvertiseAddress)
	}
	if len(c.Managers) == 0 {
		errs.Add("swarm.managers", "is empty: list the Engine API addresses (ip:port) of the manager instances (the docker link)")
	}
	for i, m := range c.Managers {
		if host, port, err := net.SplitHostPort(m); err != nil || host == "" || port == "" {
			errs.Add(config.Index("swarm.managers", i), "%q is not an address such as \"10.0.0.5:4243\"", m)
		}
	}
	for _, f := range []struct{ path, value string }{{"swarm.ca_cert", c.CACert}, {"swarm.cert", c.Cert}, {"swarm.key", c.Key}} {
		if !filepath.IsAbs(f.value) {
			errs.Add(f.path, "must be the absolute path of a PEM file (the managers' Engine API is reached with mutual TLS), got %q", f.value)
		}
	}
	if c.RetryInterval < 0 {
		errs.Add("swarm.retry_interval", "must not be negative")
	}
}
