package osbapi

import "net/http"

// bindingLastOperation is GET .../service_bindings/:binding_id/last_operation.
func (h *handler) bindingLastOperation(w http.ResponseWriter, r *http.Request) {
	h.pollOperation(w, r, h.broker.BindingLastOperation)
}
