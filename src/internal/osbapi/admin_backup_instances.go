package osbapi

import "net/http"

// backupInstances is GET /admin/backup/instances: the ids of the instances whose data a backup
// holds, as a JSON array. Only for a locked broker.
func (h *handler) backupInstances(w http.ResponseWriter, r *http.Request) {
	ids, err := h.admin.BackupInstances(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}
