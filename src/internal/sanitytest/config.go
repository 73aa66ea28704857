package sanitytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// ErrandName is the value of a sanity-test config's `errand` key (config.ErrandOf).
const ErrandName = "sanity-test"

// Config is the sanity-test errand's config file, rendered by the sanity-test job
// (templates/sanity-test.json.erb).
type Config struct {
	// Errand is always ErrandName.
	Errand string             `json:"errand"`
	Broker osbclient.Endpoint `json:"broker"`
	// DockerSocket is the engine the check containers run on: the docker job's, on this VM.
	DockerSocket string `json:"docker_socket"`
	// Plans are the SERVICE/PLAN names to test, e.g. redis32/free; empty tests every plan.
	Plans []string `json:"plans"`
	// Services is the broker's `services` property: the plans and their sanity checks.
	Services json.RawMessage `json:"services"`
	// Timeout bounds the provision, bind and check of one plan; default 10m.
	Timeout config.Duration `json:"timeout"`
	// CleanupTimeout bounds the unbind and deprovision of one plan, also after the errand was
	// told to stop (SIGTERM); default 2m.
	CleanupTimeout config.Duration `json:"cleanup_timeout"`

	catalog *catalog.Catalog
}

// Defaults of the keys a config may leave out; the sanity-test job's spec has the same.
const (
	defaultTimeout        = config.Duration(10 * time.Minute)
	defaultCleanupTimeout = config.Duration(2 * time.Minute)
)

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate applies the defaults and returns every problem of the config, each naming its field;
// a valid config keeps its parsed catalog for Run.
func (c *Config) Validate() error {
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.CleanupTimeout == 0 {
		c.CleanupTimeout = defaultCleanupTimeout
	}
	var errs config.Errors
	config.CheckErrand(&errs, c.Errand, ErrandName)
	c.Broker.Validate(&errs, "broker")
	if !filepath.IsAbs(c.DockerSocket) {
		errs.Add("docker_socket", "%q: the absolute path of the docker job's socket, e.g. /var/vcap/sys/run/docker/docker.sock", c.DockerSocket)
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "%v: must be longer than zero", c.Timeout.D())
	}
	if c.CleanupTimeout < 0 {
		errs.Add("cleanup_timeout", "%v: must be longer than zero", c.CleanupTimeout.D())
	}
	if len(bytes.TrimSpace(c.Services)) == 0 || string(bytes.TrimSpace(c.Services)) == "null" {
		errs.Add("services", "is required: the broker's services (the servicebroker link gives them)")
		return errs.Err()
	}
	cat, _, err := catalog.Parse(c.Services)
	var problems config.Errors
	switch {
	case errors.As(err, &problems):
		errs = append(errs, problems...) // their paths start at services already
	case err != nil:
		errs.Add("services", "%v", err)
	default:
		c.catalog = cat
		checkPlans(&errs, c.Plans, cat)
	}
	return errs.Err()
}

// checkPlans reports the names of `plans` that are no plan of the catalog, or repeated.
func checkPlans(errs *config.Errors, names []string, cat *catalog.Catalog) {
	seen := map[string]bool{}
	for i, name := range names {
		at := config.Index("plans", i)
		service, plan, _ := strings.Cut(name, "/")
		switch {
		case seen[name]:
			errs.Add(at, "%q is listed twice", name)
		case !hasPlan(cat, service, plan):
			errs.Add(at, "%q is no plan of the broker's catalog: write SERVICE/PLAN, one of %s", name, strings.Join(planNames(cat), ", "))
		}
		seen[name] = true
	}
}

func hasPlan(cat *catalog.Catalog, service, plan string) bool {
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			if s.Name == service && p.Name == plan {
				return true
			}
		}
	}
	return false
}

// planNames lists SERVICE/PLAN of every plan of the catalog, in its order.
func planNames(cat *catalog.Catalog) []string {
	var names []string
	for _, s := range cat.Services {
		for _, p := range s.Plans {
			names = append(names, fmt.Sprintf("%s/%s", s.Name, p.Name))
		}
	}
	return names
}
