package broker

import (
	"encoding/json"
	"fmt"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// loadWithPlan reads an instance and the catalog entry of planID (its own plan when empty).
func (b *Broker) loadWithPlan(instanceID, planID string) (store.Instance, catalog.Service, catalog.Plan, error) {
	inst, found, err := b.store.Instance(instanceID)
	if err != nil {
		return inst, catalog.Service{}, catalog.Plan{}, err
	}
	if !found {
		return inst, catalog.Service{}, catalog.Plan{}, fmt.Errorf("instance %s has no record", instanceID)
	}
	if planID == "" {
		planID = inst.PlanID
	}
	service, plan, ok := b.cfg.Catalog.PlanByID(planID)
	if !ok {
		return inst, service, plan, fmt.Errorf("plan %s of instance %s is no longer in the catalog", planID, instanceID)
	}
	return inst, service, plan, nil
}

// planVersion is the plan's maintenance version, "" when it has none.
func planVersion(plan catalog.Plan) string {
	if plan.MaintenanceInfo == nil {
		return ""
	}
	return plan.MaintenanceInfo.Version
}

// checkMaintenanceInfo refuses a request that expects another maintenance version of the plan
// than the catalog has (the platform's catalog is stale).
func checkMaintenanceInfo(plan catalog.Plan, mi *osbapi.MaintenanceInfo) error {
	if mi == nil || mi.Version == planVersion(plan) {
		return nil
	}
	return osbapi.Unprocessable(osbapi.CodeMaintenanceInfoConflict, "maintenance_info.version %q does not match plan %s's version %q; refresh the platform's catalog of this broker", mi.Version, plan.Name, planVersion(plan))
}

// validParameters checks user parameters against the plan's schema and returns them as they
// will be stored (nil when there are none).
func validParameters(plan catalog.Plan, raw json.RawMessage, update bool) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var params map[string]any
	if err := json.Unmarshal(raw, &params); err != nil {
		// Not always a non-object: {"n":1e400} is an object whose number fits no float64.
		return nil, osbapi.ObjectProblem("parameters", raw, err)
	}
	if len(params) == 0 {
		return nil, nil
	}
	if err := plan.ValidateParameters(params, update); err != nil {
		return nil, osbapi.BadRequest("parameters: %v", err)
	}
	return raw, nil
}

// occupiesContainer says whether an instance counts against quotas: every instance except one
// whose provision failed (its container is gone).
func occupiesContainer(inst store.Instance) bool {
	return inst.Provisioned || inst.Operation.Kind != store.Provision || inst.Operation.State != store.Failed
}

// usage counts the instances that count against quotas: all of them (total) and those of the
// plan planID (ofPlan), not counting the instance exceptID.
func usage(all []store.Instance, planID, exceptID string) (total, ofPlan int) {
	for _, inst := range all {
		if inst.ID == exceptID || !occupiesContainer(inst) {
			continue
		}
		total++
		// An instance being updated to the plan holds its place there already.
		updating := inst.Operation.InProgress() && inst.Operation.Update != nil && inst.Operation.Update.PlanID == planID
		if inst.PlanID == planID || updating {
			ofPlan++
		}
	}
	return total, ofPlan
}

// checkQuota refuses one more instance of plan when the broker's or the plan's max_containers
// is reached, not counting the instance exceptID (an update's own instance). b.mu must be held.
// The answer is a 4xx naming the limit: a 5xx would make the platform retry and clean up.
func (b *Broker) checkQuota(plan catalog.Plan, exceptID string) error {
	all, err := b.store.Instances()
	if err != nil {
		return err
	}
	total, ofPlan := usage(all, plan.ID, exceptID)
	if b.cfg.MaxContainers > 0 && total >= b.cfg.MaxContainers {
		return osbapi.Unprocessable("", "Service capacity has been reached: this broker runs at most %d containers (max_containers) and has %d; delete an instance or ask the operator to raise max_containers", b.cfg.MaxContainers, total)
	}
	if plan.MaxContainers > 0 && ofPlan >= plan.MaxContainers {
		return osbapi.Unprocessable("", "Service capacity has been reached: plan %s allows at most %d instances (its max_containers) and has %d; choose another plan or delete an instance", plan.Name, plan.MaxContainers, ofPlan)
	}
	return nil
}
