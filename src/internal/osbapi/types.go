package osbapi

import (
	"encoding/json"
	"time"
)

// MaintenanceInfo is a plan's maintenance version as the platform sends it.
type MaintenanceInfo struct {
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// ProvisionRequest is PUT /v2/service_instances/:instance_id.
type ProvisionRequest struct {
	InstanceID        string `json:"-"`
	AcceptsIncomplete bool   `json:"-"`

	ServiceID        string           `json:"service_id"`
	PlanID           string           `json:"plan_id"`
	OrganizationGUID string           `json:"organization_guid"`
	SpaceGUID        string           `json:"space_guid"`
	Context          json.RawMessage  `json:"context,omitempty"`
	Parameters       json.RawMessage  `json:"parameters,omitempty"`
	MaintenanceInfo  *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// ProvisionResponse is the answer to a provision: 201 when done now, 200 when an identical
// instance already exists, 202 (with Operation) when it goes on asynchronously.
type ProvisionResponse struct {
	Async         bool `json:"-"`
	AlreadyExists bool `json:"-"`

	DashboardURL string `json:"dashboard_url,omitempty"`
	Operation    string `json:"operation,omitempty"`
}

// UpdateRequest is PATCH /v2/service_instances/:instance_id. A nil PlanID, Parameters or
// MaintenanceInfo means "not asked to change".
type UpdateRequest struct {
	InstanceID        string `json:"-"`
	AcceptsIncomplete bool   `json:"-"`

	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id,omitempty"`
	Context         json.RawMessage  `json:"context,omitempty"`
	Parameters      json.RawMessage  `json:"parameters,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
	PreviousValues  *PreviousValues  `json:"previous_values,omitempty"`
}

// PreviousValues is what the platform believes the instance was before the update.
type PreviousValues struct {
	ServiceID       string           `json:"service_id,omitempty"`
	PlanID          string           `json:"plan_id,omitempty"`
	OrganizationID  string           `json:"organization_id,omitempty"`
	SpaceID         string           `json:"space_id,omitempty"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// OperationResponse answers update and deprovision: 200 when done now, 202 (with Operation)
// when it goes on asynchronously.
type OperationResponse struct {
	Async bool `json:"-"`

	DashboardURL string `json:"dashboard_url,omitempty"`
	Operation    string `json:"operation,omitempty"`
}

// DeprovisionRequest is DELETE /v2/service_instances/:instance_id.
type DeprovisionRequest struct {
	InstanceID        string
	ServiceID         string
	PlanID            string
	AcceptsIncomplete bool
}

// InstanceResponse is GET /v2/service_instances/:instance_id.
type InstanceResponse struct {
	ServiceID       string            `json:"service_id"`
	PlanID          string            `json:"plan_id"`
	DashboardURL    string            `json:"dashboard_url,omitempty"`
	Parameters      json.RawMessage   `json:"parameters,omitempty"`
	MaintenanceInfo *MaintenanceInfo  `json:"maintenance_info,omitempty"`
	Metadata        *InstanceMetadata `json:"metadata,omitempty"`
}

// InstanceMetadata is an instance's `metadata` (OSB 2.16): attributes are facts about it that
// the platform may show its users.
type InstanceMetadata struct {
	Attributes map[string]string `json:"attributes,omitempty"`
}

// LastOperationRequest is GET .../last_operation of an instance (BindingID empty) or a binding.
type LastOperationRequest struct {
	InstanceID string
	BindingID  string
	ServiceID  string
	PlanID     string
	Operation  string
}

// LastOperationResponse is the state of the last operation. RetryAfter, when set, becomes the
// Retry-After header: how long the platform should wait before it polls again.
type LastOperationResponse struct {
	State            string        `json:"state"`
	Description      string        `json:"description,omitempty"`
	InstanceUsable   *bool         `json:"instance_usable,omitempty"`
	UpdateRepeatable *bool         `json:"update_repeatable,omitempty"`
	RetryAfter       time.Duration `json:"-"`
}

// BindRequest is PUT /v2/service_instances/:instance_id/service_bindings/:binding_id.
type BindRequest struct {
	InstanceID        string `json:"-"`
	BindingID         string `json:"-"`
	AcceptsIncomplete bool   `json:"-"`

	ServiceID            string          `json:"service_id"`
	PlanID               string          `json:"plan_id"`
	AppGUID              string          `json:"app_guid,omitempty"`
	BindResource         json.RawMessage `json:"bind_resource,omitempty"`
	Context              json.RawMessage `json:"context,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
	PredecessorBindingID string          `json:"predecessor_binding_id,omitempty"`
}

// BindResponse is a binding as the platform receives it: 201 when created, 200 when an
// identical binding exists (same credentials).
type BindResponse struct {
	AlreadyExists bool `json:"-"`

	Credentials    json.RawMessage `json:"credentials"`
	Endpoints      []Endpoint      `json:"endpoints,omitempty"`
	SyslogDrainURL string          `json:"syslog_drain_url,omitempty"`
	Parameters     json.RawMessage `json:"parameters,omitempty"`
}

// Endpoint is a network endpoint an app must be allowed to reach (for CF security groups).
type Endpoint struct {
	Host     string   `json:"host"`
	Ports    []string `json:"ports"`
	Protocol string   `json:"protocol,omitempty"`
}

// UnbindRequest is DELETE .../service_bindings/:binding_id.
type UnbindRequest struct {
	InstanceID        string
	BindingID         string
	ServiceID         string
	PlanID            string
	AcceptsIncomplete bool
}
