package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// ListInstances is GET /admin/instances (osbapi.Admin): every instance in the store, in id
// order, with the maintenance_info version it runs, so that the upgrade-all-instances errand
// finds those behind their plan without a platform.
func (b *Broker) ListInstances(context.Context) ([]osbapi.AdminInstance, error) {
	instances, err := b.store.Instances()
	if err != nil {
		return nil, err
	}
	list := make([]osbapi.AdminInstance, 0, len(instances))
	for _, inst := range instances {
		list = append(list, osbapi.AdminInstance{
			ID: inst.ID, ServiceID: inst.ServiceID, PlanID: inst.PlanID, MaintenanceInfo: runningMaintenance(inst),
			Provisioned:   inst.Provisioned,
			LastOperation: osbapi.AdminLastOperation{Type: inst.Operation.Kind, State: inst.Operation.State},
		})
	}
	return list, nil
}
