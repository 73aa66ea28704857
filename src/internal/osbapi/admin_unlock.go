package osbapi

import "net/http"

// unlock is DELETE /admin/lock: the broker accepts changes again (the BBR unlock scripts).
func (h *handler) unlock(w http.ResponseWriter, r *http.Request) {
	if err := h.admin.Unlock(r.Context()); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"locked": false})
}
