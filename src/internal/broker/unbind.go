package broker

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Unbind is DELETE .../service_bindings/:binding_id. A binding with a user of its own loses it
// first: the drop command removes the user and ends its sessions, so the credentials stop
// working at once. Only then does the record go; if the drop fails, the binding stays and the
// platform may try again.
func (b *Broker) Unbind(ctx context.Context, req osbapi.UnbindRequest) error {
	started := b.clock.Now()
	key := bindingKey{req.InstanceID, req.BindingID}
	b.mu.Lock()
	if err := b.refuseWhileLocked(); err != nil {
		b.mu.Unlock()
		return err
	}
	binding, found, err := b.store.Binding(req.InstanceID, req.BindingID)
	if err != nil {
		b.mu.Unlock()
		return err
	}
	if !found {
		b.mu.Unlock()
		return osbapi.Gone("binding %s of instance %s does not exist", req.BindingID, req.InstanceID)
	}
	if binding.User == nil {
		defer b.mu.Unlock()
		return b.forgetBinding(ctx, binding, started)
	}
	inst, _, err := b.store.Instance(req.InstanceID) // a binding's instance exists: they are deleted together
	if err == nil {
		if busy := b.claimBinding(key, "unbinding"); busy != "" {
			err = osbapi.Unprocessable(osbapi.CodeConcurrencyError, "binding %s is busy %s; try again in a moment", req.BindingID, busy)
		} else {
			b.wg.Add(1) // Shutdown waits for the command, which its timeout bounds
		}
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	defer b.wg.Done()
	defer b.releaseBinding(key)
	if err := b.dropUser(context.WithoutCancel(ctx), inst, binding); err != nil {
		b.operationEnded(unbindKind, binding.ServiceID, binding.PlanID, store.Failed, started)
		b.log.Error("dropping a binding's user failed; the binding stays", append([]any{"instance_id", req.InstanceID, "binding_id", req.BindingID, "error", err.Error()}, osbapi.RequestAttrs(ctx)...)...)
		what := userMessage(err, "the service host's container engine failed")
		return &osbapi.Error{Status: http.StatusInternalServerError, Description: "the binding's user could not be removed, so the binding stays and its credentials may still work: " + what + ". Unbind again later, and ask the operator if it fails again"}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.forgetBinding(ctx, binding, started)
}

// forgetBinding deletes a binding's record, ending the unbind that started then. b.mu must be
// held.
func (b *Broker) forgetBinding(ctx context.Context, binding store.Binding, started time.Time) error {
	err := b.store.DeleteBinding(binding.InstanceID, binding.ID)
	b.operationEnded(unbindKind, binding.ServiceID, binding.PlanID, outcome(err), started)
	if err != nil {
		return err
	}
	b.log.Info("unbound", append([]any{"instance_id", binding.InstanceID, "binding_id", binding.ID}, osbapi.RequestAttrs(ctx)...)...)
	return nil
}
