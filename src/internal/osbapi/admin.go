package osbapi

import "net/http"

// reconciliation is GET /admin/reconciliation: how the broker's records and the engine's
// containers compared at start (containers without records, records without containers,
// operations resumed or failed). For the operator; behind the same basic auth.
func (h *handler) reconciliation(w http.ResponseWriter, r *http.Request) {
	report, err := h.admin.Reconciliation(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}
