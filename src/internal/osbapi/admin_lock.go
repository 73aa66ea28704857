package osbapi

import "net/http"

// lock is PUT /admin/lock: the broker refuses changes from now on (422 ConcurrencyError to the
// platform) and answers once no operation runs any more, so that a backup or restore sees the
// broker's records and the instances' data as of one moment (the BBR lock scripts).
func (h *handler) lock(w http.ResponseWriter, r *http.Request) {
	if err := h.admin.Lock(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"locked": true})
}
