package registrar

import (
	"crypto/x509"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// Config is the registrar's config file, rendered by the broker-registrar and
// broker-deregistrar errand jobs (templates/config/registrar.json.erb).
type Config struct {
	CF     CFConfig     `json:"cf"`
	Broker BrokerConfig `json:"broker"`
	// Access says who may use the broker's plans; empty means every plan, public to all orgs.
	Access AccessConfig `json:"access"`
	// SpaceScoped, when set, registers a space-scoped broker: its plans are visible in that
	// space only, so Access must stay empty.
	SpaceScoped SpaceScopedConfig `json:"space_scoped"`
	// PurgeInstances lets deregister delete the broker's service instances (through Cloud
	// Foundry, so the broker removes their containers and data) instead of refusing.
	PurgeInstances bool `json:"purge_instances"`
}

// CFConfig is how to reach and log in to the Cloud Foundry API: a user and password, or a
// UAA client and secret.
type CFConfig struct {
	APIURL            string `json:"api_url"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	SkipSSLValidation bool   `json:"skip_ssl_validation"`
	CACert            string `json:"ca_cert"` // PEM: trusted besides the system's CAs
}

// BrokerConfig is the broker as Cloud Foundry is to reach it, and the name it is registered
// under. The registrar fetches its catalog itself, so the errand VM must reach URL too.
type BrokerConfig struct {
	Name string `json:"name"`
	osbclient.Endpoint
}

// AccessConfig limits access to the broker's plans. Orgs: the orgs that may use them
// (empty: all orgs, the plans are public). Services and Plans are allow-lists of service
// names and "service/plan" names; when both are empty every plan is enabled. Plans not
// allowed are made non-public and removed from the orgs.
type AccessConfig struct {
	Orgs     []string `json:"orgs"`
	Services []string `json:"services"`
	Plans    []string `json:"plans"`
}

// SpaceScopedConfig names the space of a space-scoped broker.
type SpaceScopedConfig struct {
	Org   string `json:"org"`
	Space string `json:"space"`
}

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (Config, error) {
	var c Config
	if err := config.Load(path, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate returns every problem of the config, each naming its field.
func (c Config) Validate() error {
	var errs config.Errors
	c.CF.check(&errs)
	c.Broker.check(&errs)
	checkNames(&errs, "access.orgs", c.Access.Orgs)
	checkNames(&errs, "access.services", c.Access.Services)
	checkNames(&errs, "access.plans", c.Access.Plans)
	for i, p := range c.Access.Plans {
		if service, plan, ok := strings.Cut(p, "/"); !ok || service == "" || plan == "" {
			errs.Add(config.Index("access.plans", i), "%q is not SERVICE/PLAN, such as \"redis32/free\"", p)
		}
	}
	if (c.SpaceScoped.Org == "") != (c.SpaceScoped.Space == "") {
		errs.Add("space_scoped", "needs both org and space, or neither for a broker visible to all orgs")
	}
	if c.SpaceScoped.Org != "" && (len(c.Access.Orgs) > 0 || len(c.Access.Services) > 0 || len(c.Access.Plans) > 0) {
		errs.Add("access", "must stay empty for a space-scoped broker: its plans are visible in its space only")
	}
	return errs.Err()
}

// check adds the problems of the cf section to errs.
func (c CFConfig) check(errs *config.Errors) {
	config.CheckURL(errs, "cf.api_url", c.APIURL)
	userLogin := c.Username != "" || c.Password != ""
	clientLogin := c.ClientID != "" || c.ClientSecret != ""
	switch {
	case userLogin && clientLogin:
		errs.Add("cf", "set either username and password or client_id and client_secret, not both")
	case !userLogin && !clientLogin:
		errs.Add("cf", "needs credentials: username and password, or client_id and client_secret (a UAA client with cloud_controller.admin)")
	case userLogin:
		config.Require(errs, "cf.username", c.Username, "the Cloud Foundry admin user")
		config.Require(errs, "cf.password", c.Password, "the Cloud Foundry admin user's password")
	default:
		config.Require(errs, "cf.client_id", c.ClientID, "the UAA client")
		config.Require(errs, "cf.client_secret", c.ClientSecret, "the UAA client's secret")
	}
	if c.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CACert)) {
		errs.Add("cf.ca_cert", "holds no PEM certificate")
	}
}

// check adds the problems of the broker section to errs.
func (b BrokerConfig) check(errs *config.Errors) {
	config.Require(errs, "broker.name", b.Name, "the name the broker is registered under")
	b.Validate(errs, "broker")
}

// checkNames refuses empty and repeated entries of a name list.
func checkNames(errs *config.Errors, path string, names []string) {
	seen := map[string]bool{}
	for i, n := range names {
		switch {
		case strings.TrimSpace(n) == "":
			errs.Add(config.Index(path, i), "is empty")
		case seen[n]:
			errs.Add(config.Index(path, i), "%q is listed twice", n)
		}
		seen[n] = true
	}
}
