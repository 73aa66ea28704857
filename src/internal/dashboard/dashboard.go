// Package dashboard is the operator's dashboard: server-rendered pages of the fleet (every
// instance with its state, health, ports and image, and its node on an engine of several
// machines; capacity per plan, for the broker and per node; recent operations and failures,
// the orphans report) and of one instance with the last lines
// of its container's log. The pages use no script and load nothing from elsewhere: the style
// sheet is embedded, and they refresh themselves with a meta refresh the reader can pause.
//
// The pages show what the broker hands over, which holds no secret: the broker redacts every
// credential it knows of an instance and its bindings from log lines and operation
// descriptions before they get here.
package dashboard

import (
	"context"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sso"
)

// Source is what the dashboard shows (package broker implements it).
type Source interface {
	// MetricsState is the fleet's counts and capacity, read as a Prometheus scrape reads
	// them, so that the dashboard and /metrics tell the same numbers.
	MetricsState(ctx context.Context) (metrics.Snapshot, error)
	// DashboardInstances lists every instance the broker keeps, in id order.
	DashboardInstances(ctx context.Context) ([]Instance, error)
	// DashboardInstance is one instance with the last lines of its container's log; found is
	// false for an instance the broker does not know.
	DashboardInstance(ctx context.Context, id string, logLines int) (detail InstanceDetail, found bool, err error)
	// Orphans compares the records with the engine and the data directory now, as GET
	// /admin/orphans does.
	Orphans(ctx context.Context) (osbapi.Orphans, error)
}

// Instance is one service instance as the fleet table shows it. No field holds a secret.
type Instance struct {
	ID string
	// Name is the platform's name of the instance, when its context gave one.
	Name          string
	Service, Plan string
	// Org and Space name where the platform created it: the names from the OSB context when
	// the platform sent them, else the GUIDs.
	Org, Space string
	// State is what the metrics call it: provisioning, updating, deprovisioning, ready or
	// failed (metrics.InstanceStates), or node down (metrics.NodeDown).
	State string
	// Container is the engine's state of its container ("running", "exited", ...), empty when
	// it has none; Health is the image's HEALTHCHECK status ("healthy", ..., "none").
	Container, Health string
	// Node names the machine the instance runs on (its hostname, else its id shortened) on an
	// engine of several; empty on a plain engine.
	Node string
	// Host is where apps reach the host ports: its machine's address, else the broker's
	// external_host.
	Host  string
	Ports []Port
	Image string // the image reference the plan runs, with its tag
	// Running is the maintenance_info version the instance runs, Latest its plan's; they
	// differ when an upgrade is available.
	Running, Latest string
	Bindings        int
	CreatedAt       time.Time
	Operation       Operation // the last operation
}

// UpgradeAvailable tells whether the instance runs another maintenance_info version than its
// plan publishes (what the upgrade-all-instances errand upgrades).
func (i Instance) UpgradeAvailable() bool { return i.Latest != "" && i.Running != i.Latest }

// Port is a published container port and the host port it is reached at.
type Port struct {
	Container, Host string
}

// Operation is an instance's last operation. Description is redacted by the broker.
type Operation struct {
	Kind, State, Description string
	StartedAt, FinishedAt    time.Time
}

// DeveloperView is an instance as its app developer's dashboard shows it, with what decides
// who may see it.
type DeveloperView struct {
	InstanceDetail
	// SpaceGUID is the instance's space: a user who cannot see it cannot see the instance.
	SpaceGUID string
	// Client is the offering's dashboard_client; nil when it has none, and so no developer
	// dashboard.
	Client *sso.Client
}

// InstanceDetail is one instance with the end of its container's log (redacted by the broker).
type InstanceDetail struct {
	Instance
	Log []string
	// LogErr says why there is no log: no container, or the engine did not answer.
	LogErr string
}
