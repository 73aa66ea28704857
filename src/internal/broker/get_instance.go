package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// GetInstance is GET /v2/service_instances/:id.
func (b *Broker) GetInstance(_ context.Context, instanceID string) (osbapi.InstanceResponse, error) {
	inst, found, err := b.store.Instance(instanceID)
	if err != nil {
		return osbapi.InstanceResponse{}, err
	}
	if !found || !inst.Provisioned {
		return osbapi.InstanceResponse{}, osbapi.NotFound("instance %s does not exist or is still being provisioned", instanceID)
	}
	if inst.Operation.Kind == store.Update && inst.Operation.InProgress() {
		return osbapi.InstanceResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is being updated", instanceID)
	}
	return osbapi.InstanceResponse{ServiceID: inst.ServiceID, PlanID: inst.PlanID, Parameters: inst.Parameters, MaintenanceInfo: runningMaintenance(inst),
		DashboardURL: b.dashboardURL(inst.PlanID, inst.ID)}, nil
}

// runningMaintenance is the maintenance_info of the version inst runs; nil for an instance
// created before its plan had one.
func runningMaintenance(inst store.Instance) *osbapi.MaintenanceInfo {
	if inst.MaintenanceInfo == "" {
		return nil
	}
	return &osbapi.MaintenanceInfo{Version: inst.MaintenanceInfo}
}
