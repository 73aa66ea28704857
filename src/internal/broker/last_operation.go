package broker

import (
	"context"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// retryAfter is the Retry-After the broker suggests while an operation runs, from how long it
// has run: half of that, between one second and maxRetryAfter. An operation that ends in a
// fraction of a second is polled again a second later (Cloud Foundry would otherwise wait its
// default minute), one that pulls a large image is not polled every second.
func retryAfter(elapsed time.Duration) time.Duration {
	return min(max(elapsed/2, time.Second), maxRetryAfter)
}

const maxRetryAfter = 15 * time.Second

// LastOperation is GET /v2/service_instances/:id/last_operation. The operation token is not
// needed to answer: an instance has one operation at a time (osb-notes §1.8).
func (b *Broker) LastOperation(_ context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	inst, found, err := b.store.Instance(req.InstanceID)
	if err != nil {
		return osbapi.LastOperationResponse{}, err
	}
	if found {
		op := inst.Operation
		resp := osbapi.LastOperationResponse{State: op.State, Description: op.Description, InstanceUsable: op.InstanceUsable}
		if op.InProgress() {
			resp.RetryAfter = retryAfter(b.clock.Now().Sub(op.StartedAt))
			resp.Description = op.Kind + " in progress"
		}
		if op.Kind == store.Update && op.State == store.Failed {
			repeatable := true
			resp.UpdateRepeatable = &repeatable
		}
		return resp, nil
	}
	tomb, found, err := b.store.Tombstone(req.InstanceID)
	if err != nil {
		return osbapi.LastOperationResponse{}, err
	}
	if !found {
		return osbapi.LastOperationResponse{}, osbapi.NotFound("instance %s does not exist", req.InstanceID)
	}
	if b.clock.Now().Sub(tomb.DeletedAt) > b.cfg.TombstoneWindow {
		return osbapi.LastOperationResponse{}, osbapi.Gone("instance %s was deleted", req.InstanceID)
	}
	return osbapi.LastOperationResponse{State: store.Succeeded, Description: "instance deleted"}, nil
}

// BindingLastOperation is GET .../service_bindings/:binding_id/last_operation. Bindings are
// made synchronously, so one that exists has succeeded.
func (b *Broker) BindingLastOperation(_ context.Context, req osbapi.LastOperationRequest) (osbapi.LastOperationResponse, error) {
	_, found, err := b.store.Binding(req.InstanceID, req.BindingID)
	if err != nil {
		return osbapi.LastOperationResponse{}, err
	}
	if !found {
		return osbapi.LastOperationResponse{}, osbapi.Gone("binding %s does not exist", req.BindingID)
	}
	return osbapi.LastOperationResponse{State: store.Succeeded}, nil
}
