package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Update is PATCH /v2/service_instances/:id: a plan change, new parameters or a maintenance
// upgrade, each by recreating the container with the same directories and host ports.
func (b *Broker) Update(ctx context.Context, req osbapi.UpdateRequest) (osbapi.OperationResponse, error) {
	op, resp, err := b.admitUpdate(ctx, req)
	if err != nil || op == nil || req.AcceptsIncomplete {
		return resp, err
	}
	return osbapi.OperationResponse{}, b.waitSync(op, "the update")
}

// admitUpdate checks an update and starts it. It returns no operation when there is nothing
// to wait for: nothing to change, or the same update already running.
func (b *Broker) admitUpdate(ctx context.Context, req osbapi.UpdateRequest) (*operation, osbapi.OperationResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.refuseWhileLocked(); err != nil {
		return nil, osbapi.OperationResponse{}, err
	}
	inst, found, err := b.store.Instance(req.InstanceID)
	if err != nil {
		return nil, osbapi.OperationResponse{}, err
	}
	if !found || !inst.Provisioned {
		return nil, osbapi.OperationResponse{}, osbapi.NotFound("instance %s does not exist", req.InstanceID)
	}
	if req.ServiceID != inst.ServiceID {
		return nil, osbapi.OperationResponse{}, osbapi.BadRequest("service_id %q is not the service of instance %s", req.ServiceID, req.InstanceID)
	}
	if op := inst.Operation; op.InProgress() {
		if op.Kind == store.Update && req.AcceptsIncomplete && sameUpdate(op.Update, req, inst) {
			return nil, osbapi.OperationResponse{Async: true, Operation: op.ID}, nil
		}
		return nil, osbapi.OperationResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is busy with a %s operation", req.InstanceID, op.Kind)
	}
	if work := b.bindingWorkOn(inst.ID); work != "" {
		return nil, osbapi.OperationResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "a binding of instance %s is busy %s; update it when that has finished", req.InstanceID, work)
	}
	target := store.UpdateTarget{PlanID: inst.PlanID, Parameters: inst.Parameters, MaintenanceInfo: inst.MaintenanceInfo}
	if req.PlanID != "" {
		target.PlanID = req.PlanID
	}
	service, plan, ok := b.cfg.Catalog.Plan(req.ServiceID, target.PlanID)
	if !ok {
		return nil, osbapi.OperationResponse{}, osbapi.BadRequest("plan_id %q is not a plan of service %q in this broker's catalog", target.PlanID, req.ServiceID)
	}
	if target.PlanID != inst.PlanID {
		_, current, _ := b.cfg.Catalog.PlanByID(inst.PlanID)
		if !current.IsUpdateable(service) {
			return nil, osbapi.OperationResponse{}, osbapi.Unprocessable("PlanChangeNotSupported", "plan %s cannot be changed to another plan (plan_updateable is false)", current.Name)
		}
		if err := b.checkQuota(plan, inst.ID); err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
	}
	if err := checkMaintenanceInfo(plan, req.MaintenanceInfo); err != nil {
		return nil, osbapi.OperationResponse{}, err
	}
	if req.MaintenanceInfo != nil {
		target.MaintenanceInfo = planVersion(plan)
	}
	if req.Parameters != nil {
		params, err := validParameters(plan, req.Parameters, true)
		if err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
		target.Parameters = mergeParameters(inst.Parameters, params)
	} else if target.PlanID != inst.PlanID {
		// The instance's parameters must also be valid for the new plan.
		if _, err := validParameters(plan, inst.Parameters, true); err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
	}
	if target.PlanID == inst.PlanID && sameJSON(target.Parameters, inst.Parameters) && target.MaintenanceInfo == inst.MaintenanceInfo {
		return nil, osbapi.OperationResponse{}, nil // nothing to change (e.g. a context-only update)
	}
	// Any change recreates the container from the plan as it is now (the broker keeps no older
	// spec), so the instance runs the plan's current maintenance version afterwards.
	target.MaintenanceInfo = planVersion(plan)
	inst.Operation = store.Operation{ID: newOperationID(store.Update), Kind: store.Update, State: store.InProgress, StartedAt: b.clock.Now(), Attempts: 1, Update: &target}
	if err := b.store.PutInstance(inst); err != nil {
		return nil, osbapi.OperationResponse{}, err
	}
	b.log.Info("updating", append([]any{"instance_id", inst.ID, "plan", plan.Name, "operation", inst.Operation.ID}, osbapi.RequestAttrs(ctx)...)...)
	op := b.startLocked(inst.ID, inst.Operation, func(ctx context.Context) error {
		return b.updateWork(ctx, inst.ID)
	})
	return op, osbapi.OperationResponse{Async: true, Operation: op.id}, nil
}

// sameUpdate says whether a repeated PATCH asks for the update already running.
func sameUpdate(running *store.UpdateTarget, req osbapi.UpdateRequest, inst store.Instance) bool {
	if running == nil {
		return false
	}
	return (req.PlanID == "" || req.PlanID == running.PlanID) &&
		(req.Parameters == nil || sameJSON(mergeParameters(inst.Parameters, req.Parameters), running.Parameters))
}

// mergeParameters applies the parameters of an update (only what the user typed, spec) to
// the instance's current ones.
func mergeParameters(current, changes []byte) []byte {
	merged := map[string]any{}
	for _, raw := range [][]byte{current, changes} {
		var m map[string]any
		if len(raw) > 0 && json.Unmarshal(raw, &m) == nil {
			for k, v := range m {
				merged[k] = v
			}
		}
	}
	if len(merged) == 0 {
		return nil
	}
	out, _ := json.Marshal(merged)
	return out
}

// updateWork recreates the container from the target plan and parameters. If that fails it
// recreates the previous one, so that a failed update leaves a usable instance where it can.
func (b *Broker) updateWork(ctx context.Context, instanceID string) error {
	before, found, err := b.store.Instance(instanceID)
	if err != nil || !found {
		return err
	}
	target := before.Operation.Update
	after := before
	after.PlanID, after.Parameters, after.MaintenanceInfo = target.PlanID, target.Parameters, target.MaintenanceInfo
	_, service, plan, err := b.loadWithPlan(instanceID, target.PlanID)
	if n, ok := b.machineOf(ctx, before); err == nil && ok && !n.Up {
		// Its container cannot be replaced there: the update changes nothing, and the
		// instance runs as it did once the machine is back.
		err = fmt.Errorf("instance %s on machine %s (%s): %w", instanceID, n.Name, n.State, dockerengine.ErrNodeDown)
	}
	untouched := err != nil
	if err == nil {
		err = b.runContainer(ctx, &after, service, plan)
	}
	if left(ctx) {
		return context.Cause(ctx)
	}
	if err == nil {
		b.log.Info("updated", "instance_id", instanceID, "operation", after.Operation.ID)
		return b.finish(&after, store.Succeeded, "")
	}
	restoreCtx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var lerr error
	if untouched {
		b.log.Error("update failed before it changed anything", "instance_id", instanceID, "operation", before.Operation.ID, "error", err.Error())
	} else {
		b.log.Error("update failed; restoring the previous container", "instance_id", instanceID, "operation", before.Operation.ID, "error", err.Error())
		before.Ports = after.Ports // the ports allocated in between are the instance's now
		lerr = b.rerun(restoreCtx, &before)
	}
	usable := lerr == nil
	before.Operation.InstanceUsable = &usable
	description := "update failed: " + describe(ctx, before.Operation, err)
	if usable {
		description += "; the instance runs as before"
	} else {
		b.log.Error("restoring the previous container failed", "instance_id", instanceID, "operation", before.Operation.ID, "error", lerr.Error())
		description += "; restoring the previous container failed too: " + describe(restoreCtx, before.Operation, lerr)
	}
	if ferr := b.finish(&before, store.Failed, description); ferr != nil {
		return ferr
	}
	return osbapi.Unprocessable("", "%s", description)
}

// rerun runs inst's container as its record says: its plan as it is now.
func (b *Broker) rerun(ctx context.Context, inst *store.Instance) error {
	_, service, plan, err := b.loadWithPlan(inst.ID, inst.PlanID)
	if err != nil {
		return err
	}
	return b.runContainer(ctx, inst, service, plan)
}
