package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// GetInstance is GET /v2/service_instances/:id.
func (b *Broker) GetInstance(ctx context.Context, instanceID string) (osbapi.InstanceResponse, error) {
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
		DashboardURL: b.dashboardURL(inst.PlanID, inst.ID), Metadata: b.nodeMetadata(ctx, inst)}, nil
}

// nodeMetadata tells, on an engine of several machines (package swarm), which machine holds
// inst and whether the instance can be reached there: its `state` is "node down", as the
// dashboard and the metrics say, while that machine is down or gone. None on an engine of one
// machine, nor when the machines cannot be listed: the instance's answer does not fail for it.
func (b *Broker) nodeMetadata(ctx context.Context, inst store.Instance) *osbapi.InstanceMetadata {
	n, ok := b.machineOf(ctx, inst)
	if !ok {
		return nil
	}
	return &osbapi.InstanceMetadata{Attributes: map[string]string{
		"node": n.Name, "node_address": b.host(inst), "node_state": n.State, "state": instanceStateOn(inst, map[string]metrics.Node{n.ID: n}),
	}}
}

// runningMaintenance is the maintenance_info of the version inst runs; nil for an instance
// created before its plan had one.
func runningMaintenance(inst store.Instance) *osbapi.MaintenanceInfo {
	if inst.MaintenanceInfo == "" {
		return nil
	}
	return &osbapi.MaintenanceInfo{Version: inst.MaintenanceInfo}
}
