package osbapi

import "net/http"

// getBinding is GET /v2/service_instances/:instance_id/service_bindings/:binding_id.
func (h *handler) getBinding(w http.ResponseWriter, r *http.Request) {
	instanceID, bindingID, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.GetBinding(r.Context(), instanceID, bindingID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp.forVersion(requestAPIVersion(r)))
}
