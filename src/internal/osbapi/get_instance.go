package osbapi

import "net/http"

// getInstance is GET /v2/service_instances/:instance_id.
func (h *handler) getInstance(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	resp, err := h.broker.GetInstance(r.Context(), instanceID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}
