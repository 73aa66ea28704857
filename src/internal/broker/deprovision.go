package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Deprovision is DELETE /v2/service_instances/:id: remove the container and the data. It
// always succeeds on a half-created instance, and halts a provision still running.
func (b *Broker) Deprovision(ctx context.Context, req osbapi.DeprovisionRequest) (osbapi.OperationResponse, error) {
	op, resp, err := b.admitDeprovision(ctx, req)
	if err != nil || op == nil || req.AcceptsIncomplete {
		return resp, err
	}
	// Deleting is bounded by the stop grace period; a synchronous caller waits for it.
	<-op.done
	return osbapi.OperationResponse{}, op.err
}

// admitDeprovision starts the deprovision of an instance. It returns no operation when there
// is nothing new to wait for: the instance is being deprovisioned already.
func (b *Broker) admitDeprovision(ctx context.Context, req osbapi.DeprovisionRequest) (*operation, osbapi.OperationResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// The record is read again after every wait: another DELETE may have started the
	// deprovision while this one waited for the work on the instance to stop.
	for {
		if err := b.refuseWhileLocked(); err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
		inst, found, err := b.store.Instance(req.InstanceID)
		if err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
		if !found {
			return nil, osbapi.OperationResponse{}, osbapi.Gone("instance %s does not exist", req.InstanceID)
		}
		if op := inst.Operation; op.InProgress() && op.Kind == store.Deprovision {
			if !req.AcceptsIncomplete {
				return nil, osbapi.OperationResponse{}, osbapi.Unprocessable(osbapi.CodeAsyncRequired, "instance %s is being deprovisioned; poll it with accepts_incomplete=true", req.InstanceID)
			}
			return nil, osbapi.OperationResponse{Async: true, Operation: op.ID}, nil
		}
		if op := inst.Operation; op.InProgress() && op.Kind == store.Update {
			return nil, osbapi.OperationResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "instance %s is being updated; delete it when the update has finished", req.InstanceID)
		}
		if work := b.bindingWorkOn(inst.ID); work != "" {
			return nil, osbapi.OperationResponse{}, osbapi.Unprocessable(osbapi.CodeConcurrencyError, "a binding of instance %s is busy %s; delete the instance when that has finished", req.InstanceID, work)
		}
		// A provision in flight, or the clean-up of a failed one: stop it, then delete what
		// it made.
		if running := b.running[req.InstanceID]; running != nil {
			running.cancel(errHalted)
			b.mu.Unlock()
			<-running.done
			b.mu.Lock()
			continue
		}
		inst.Operation = store.Operation{ID: newOperationID(store.Deprovision), Kind: store.Deprovision, State: store.InProgress, StartedAt: b.clock.Now(), Attempts: 1}
		if err := b.store.PutInstance(inst); err != nil {
			return nil, osbapi.OperationResponse{}, err
		}
		b.log.Info("deprovisioning", append([]any{"instance_id", inst.ID, "operation", inst.Operation.ID}, osbapi.RequestAttrs(ctx)...)...)
		op := b.startLocked(inst.ID, inst.Operation, func(ctx context.Context) error {
			return b.deprovisionWork(ctx, inst.ID)
		})
		return op, osbapi.OperationResponse{Async: true, Operation: op.id}, nil
	}
}

// deprovisionWork removes the container, then the data (or retains it), then the record,
// leaving a tombstone for last_operation.
func (b *Broker) deprovisionWork(ctx context.Context, instanceID string) error {
	inst, found, err := b.store.Instance(instanceID)
	if err != nil || !found {
		return err
	}
	err = b.removeContainer(ctx, containerName(instanceID))
	if err == nil {
		err = b.removeVolumes(ctx, instanceID)
	}
	if left(ctx) {
		return context.Cause(ctx)
	}
	if err != nil {
		b.log.Error("deprovision failed", "instance_id", instanceID, "operation", inst.Operation.ID, "error", err.Error())
		usable := false
		inst.Operation.InstanceUsable = &usable
		if ferr := b.finish(&inst, store.Failed, describe(ctx, inst.Operation, err)); ferr != nil {
			return ferr
		}
		return err
	}
	op := inst.Operation
	op.State, op.FinishedAt = store.Succeeded, b.clock.Now()
	if err := b.store.DeleteInstance(instanceID, &store.Tombstone{Operation: op, DeletedAt: op.FinishedAt}); err != nil {
		return err
	}
	b.operationEnded(op.Kind, inst.ServiceID, inst.PlanID, store.Succeeded, op.StartedAt)
	b.log.Info("deprovisioned", "instance_id", instanceID, "operation", op.ID)
	return nil
}
