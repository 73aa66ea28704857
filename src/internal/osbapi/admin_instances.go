package osbapi

import "net/http"

// AdminInstance is a service instance as GET /admin/instances lists it for the operator's
// tools (the upgrade-all-instances errand): what it is an instance of, the maintenance_info
// version it runs and its last operation. Never its credentials or parameters.
type AdminInstance struct {
	ID              string           `json:"id"`
	ServiceID       string           `json:"service_id"`
	PlanID          string           `json:"plan_id"`
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
	// Provisioned is false while the provision runs and after it failed: such an instance can
	// be neither updated nor bound.
	Provisioned   bool               `json:"provisioned"`
	LastOperation AdminLastOperation `json:"last_operation"`
}

// AdminLastOperation is the kind ("provision", "update", "deprovision") and state ("in
// progress", "succeeded", "failed") of an instance's last operation.
type AdminLastOperation struct {
	Type  string `json:"type"`
	State string `json:"state"`
}

// AdminInstances is the body of GET /admin/instances.
type AdminInstances struct {
	Instances []AdminInstance `json:"instances"`
}

// instances is GET /admin/instances: every instance the broker keeps, in id order.
func (h *handler) instances(w http.ResponseWriter, r *http.Request) {
	list, err := h.admin.ListInstances(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if list == nil {
		list = []AdminInstance{} // an empty list, not null: scripts read it too
	}
	writeJSON(w, http.StatusOK, AdminInstances{Instances: list})
}
