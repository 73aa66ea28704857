package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// GetBinding is GET .../service_bindings/:binding_id: the binding as it was given.
func (b *Broker) GetBinding(_ context.Context, instanceID, bindingID string) (osbapi.BindResponse, error) {
	binding, found, err := b.store.Binding(instanceID, bindingID)
	if err != nil {
		return osbapi.BindResponse{}, err
	}
	if !found || binding.Creating {
		// OSB: a binding still being created is not found yet.
		return osbapi.BindResponse{}, osbapi.NotFound("binding %s of instance %s does not exist", bindingID, instanceID)
	}
	return decodeBinding(binding)
}
