package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Unbind is DELETE .../service_bindings/:binding_id.
func (b *Broker) Unbind(ctx context.Context, req osbapi.UnbindRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, found, err := b.store.Binding(req.InstanceID, req.BindingID)
	if err != nil {
		return err
	}
	if !found {
		return osbapi.Gone("binding %s of instance %s does not exist", req.BindingID, req.InstanceID)
	}
	if err := b.store.DeleteBinding(req.InstanceID, req.BindingID); err != nil {
		return err
	}
	b.log.Info("unbound", append([]any{"instance_id", req.InstanceID, "binding_id", req.BindingID}, osbapi.RequestAttrs(ctx)...)...)
	return nil
}
