// Package catalog reads the broker's service offerings from the `services` array of its config,
// in the schema of the original cf-containers-broker (ancestors.md §1.3–1.5), so that the original
// BOSH service ops files load unchanged, and renders them as the OSB v2.17 catalog.
//
// Everything the broker needs to run a plan (container, credentials, health check) lives beside
// what the platform sees; MarshalOSB is the one place that decides what is public.
package catalog

import (
	"encoding/json"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Catalog is the parsed, defaulted and validated `services` array.
type Catalog struct {
	Services []Service
}

// Service is one service offering.
type Service struct {
	ID          string
	Name        string
	Description string
	Bindable    bool // default true
	Tags        []string
	// Metadata is passed to the platform as written (displayName, imageUrl, shareable, ...).
	Metadata map[string]any
	Requires []string // among syslog_drain, route_forwarding, volume_mount
	// PlanUpdateable is honoured as written (default false); the ancestor forced it to true.
	PlanUpdateable      bool
	AllowContextUpdates bool
	DashboardClient     *DashboardClient // nil when absent or empty
	Plans               []Plan
}

// DashboardClient is the Cloud Foundry SSO extension of a service offering.
type DashboardClient struct {
	ID          string
	Secret      string
	RedirectURI string // Cloud Foundry refuses a client without one: MarshalOSB leaves such a client out
}

// Plan is one plan of a service offering, with the container that provisions it.
type Plan struct {
	ID          string
	Name        string
	Description string
	Metadata    map[string]any
	Free        bool  // default true
	Bindable    *bool // overrides Service.Bindable when set
	// PlanUpdateable overrides Service.PlanUpdateable when set.
	PlanUpdateable *bool
	// MaxContainers is the most instances of this plan the broker provisions; 0 is unlimited.
	MaxContainers int
	Container     Container
	Credentials   Credentials
	// SyslogDrainPort is the container port ("514/tcp") that receives the logs of bound apps;
	// empty when the plan is no syslog drain.
	SyslogDrainPort     string
	SyslogDrainProtocol string // syslog (default), syslog-tls or https
	// Schemas is the plan's `schemas` object, passed to the platform verbatim; the broker
	// enforces its instance parameters with ValidateParameters.
	Schemas                json.RawMessage
	MaintenanceInfo        *MaintenanceInfo
	MaximumPollingDuration int // seconds; 0 leaves the platform's own limit
	HealthCheck            HealthCheck
	// Bindings, when set, gives every binding a user of its own in the service; without it a
	// binding hands out the instance's credentials (the legacy behaviour).
	Bindings *Bindings
	// SanityCheck is what the sanity-test errand runs against a binding of the plan; nil when
	// the file gives none (the errand then only provisions, binds, unbinds and deprovisions).
	SanityCheck *SanityCheck
	// Backup, when set, is how a backup dumps and restores an instance's data with the engine's
	// own tools; without it, a backup copies the persistent volumes of the stopped container.
	Backup *Backup
}

// MaintenanceInfo is the version of a plan's implementation that instances are upgraded to.
type MaintenanceInfo struct {
	Version     string // semantic version 2.0
	Description string
}

// HealthCheck says when a freshly started container is ready to serve. With neither TCPPort nor
// Command set, the broker connects to the credential port: uri.port, or the single exposed port.
type HealthCheck struct {
	TCPPort  string          // a port of the container to connect to, "5432/tcp"
	Command  []string        // run inside the container; exit status 0 means healthy
	Timeout  config.Duration // how long the container may take to become healthy; default 120s
	Interval config.Duration // pause between two attempts; default 1s
	// Hold is how long the check must keep passing, with the container neither restarted nor
	// restarting, before the instance counts as ready; default 1s. A service that accepts a
	// connection and then crashes (a full disk, a bad config) is not handed to an app.
	Hold config.Duration
}

// IsBindable says whether instances of plan p (of service s) can be bound.
func (p Plan) IsBindable(s Service) bool {
	if p.Bindable != nil {
		return *p.Bindable
	}
	return s.Bindable
}

// IsUpdateable says whether instances of plan p (of service s) may change to another plan.
func (p Plan) IsUpdateable(s Service) bool {
	if p.PlanUpdateable != nil {
		return *p.PlanUpdateable
	}
	return s.PlanUpdateable
}

// Plan finds a plan by its service's id and its own id.
func (c *Catalog) Plan(serviceID, planID string) (Service, Plan, bool) {
	for _, s := range c.Services {
		if s.ID != serviceID {
			continue
		}
		for _, p := range s.Plans {
			if p.ID == planID {
				return s, p, true
			}
		}
	}
	return Service{}, Plan{}, false
}

// PlanByID finds a plan by its id alone, which is unique across the catalog.
func (c *Catalog) PlanByID(planID string) (Service, Plan, bool) {
	for _, s := range c.Services {
		for _, p := range s.Plans {
			if p.ID == planID {
				return s, p, true
			}
		}
	}
	return Service{}, Plan{}, false
}
