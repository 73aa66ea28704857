package osbapi

import "net/http"

// restoreState is PUT /admin/restore/state: the body, a state file that GET
// /admin/backup/state wrote, replaces the broker's records of instances and bindings. The
// answer is the JSON array of the instances whose data is to be restored next. Only for a
// locked broker.
func (h *handler) restoreState(w http.ResponseWriter, r *http.Request) {
	ids, err := h.admin.RestoreState(r.Context(), r.Body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}
