package store

import (
	"encoding/json"
	"time"
)

// Operation states, as last_operation reports them.
const (
	InProgress = "in progress"
	Succeeded  = "succeeded"
	Failed     = "failed"
)

// Operation kinds.
const (
	Provision   = "provision"
	Update      = "update"
	Deprovision = "deprovision"
)

// Instance is one service instance as the platform asked for it.
type Instance struct {
	ID               string          `json:"id"`
	ServiceID        string          `json:"service_id"`
	PlanID           string          `json:"plan_id"`
	OrganizationGUID string          `json:"organization_guid"`
	SpaceGUID        string          `json:"space_guid"`
	Context          json.RawMessage `json:"context,omitempty"`
	Parameters       json.RawMessage `json:"parameters,omitempty"`
	MaintenanceInfo  string          `json:"maintenance_info,omitempty"` // version the instance runs
	Credentials      Credentials     `json:"credentials"`
	// Ports maps each published container port ("6379/tcp") to its host port ("20001"). They are
	// allocated once and reused on every recreate, so that they never change under an app.
	Ports map[string]string `json:"ports"`
	// Node is the machine that holds the instance's data and runs its container, decided once
	// when its engine spreads instances over several (a swarm node id); empty beside a plain
	// engine. Host is that machine's address, where apps reach the ports; empty: the broker's
	// external host.
	Node string `json:"node,omitempty"`
	Host string `json:"host,omitempty"`
	// Provisioned is set when the provision succeeded: only then can the instance be bound,
	// fetched or updated.
	Provisioned bool `json:"provisioned"`
	// Leftovers is set on a failed provision whose container or directories could not be
	// removed yet (the engine did not answer): housekeeping removes them once it does.
	Leftovers bool      `json:"leftovers,omitempty"`
	Operation Operation `json:"operation"` // the last operation, finished or not
	CreatedAt time.Time `json:"created_at"`
}

// Credentials are the instance's generated (or plan-fixed) secrets, given to its container
// through the plan's env keys.
type Credentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	DBName   string `json:"dbname,omitempty"`
}

// Operation is an asynchronous (or synchronous) change of an instance.
type Operation struct {
	ID          string    `json:"id"` // the token handed to the platform
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Description string    `json:"description,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at,omitzero"`
	// Attempts counts the starts of this operation: a broker restart resumes an operation that
	// was in flight, once; a second interruption fails it rather than looping.
	Attempts int `json:"attempts"`
	// Update is what an update operation changes the instance to.
	Update *UpdateTarget `json:"update,omitempty"`
	// InstanceUsable tells the platform, after a failed update or deprovision, whether the
	// instance still works.
	InstanceUsable *bool `json:"instance_usable,omitempty"`
}

// InProgress reports whether the operation has not finished yet.
func (o Operation) InProgress() bool { return o.State == InProgress }

// UpdateTarget is the plan, parameters and maintenance version an update moves to.
type UpdateTarget struct {
	PlanID          string          `json:"plan_id"`
	Parameters      json.RawMessage `json:"parameters,omitempty"`
	MaintenanceInfo string          `json:"maintenance_info,omitempty"`
}

// Binding is one binding (an app binding or a service key) with the credentials it was given.
type Binding struct {
	ID           string          `json:"id"`
	InstanceID   string          `json:"instance_id"`
	ServiceID    string          `json:"service_id"`
	PlanID       string          `json:"plan_id"`
	AppGUID      string          `json:"app_guid,omitempty"`
	BindResource json.RawMessage `json:"bind_resource,omitempty"`
	Parameters   json.RawMessage `json:"parameters,omitempty"`
	Context      json.RawMessage `json:"context,omitempty"`
	// PredecessorID is the binding this one rotates (predecessor_binding_id).
	PredecessorID string `json:"predecessor_id,omitempty"`
	// User is the binding's own user in the service, for plans with per-binding users; nil when
	// the binding hands out the instance's credentials (and for every binding made before
	// per-binding users existed, which keep working as they were).
	User *BindingUser `json:"user,omitempty"`
	// Creating is set from before the user's create command runs until the answer is stored.
	// A binding still creating when the broker starts was cut short: the broker drops its user
	// and forgets it (the platform never got its credentials).
	Creating bool `json:"creating,omitempty"`
	// CreateExec is the engine's id of the create command, so that a restarted broker waits for
	// a command that outlived it before it drops the user.
	CreateExec string `json:"create_exec,omitempty"`
	// Response is the binding's OSB response body (credentials, endpoints, syslog_drain_url)
	// exactly as first given, so that repeated and GET requests answer the same.
	Response  json.RawMessage `json:"response"`
	CreatedAt time.Time       `json:"created_at"`
}

// BindingUser is a binding's own user in the service.
type BindingUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Tombstone remembers a deleted instance for a while, so that the platform's last_operation
// poll after an async deprovision finds out it succeeded.
type Tombstone struct {
	ID        string    `json:"id"`
	Operation Operation `json:"operation"`
	DeletedAt time.Time `json:"deleted_at"`
}

// PlanMaintenance is what the broker last published as a plan's maintenance_info: the version,
// and the digest of the plan's container spec it stands for. A plan whose digest changed since
// gets a higher version, which the platform offers as an upgrade.
type PlanMaintenance struct {
	PlanID  string `json:"plan_id"`
	Digest  string `json:"digest"`
	Version string `json:"version"`
}
