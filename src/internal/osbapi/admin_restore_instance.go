package osbapi

import "net/http"

// restoreInstance is PUT /admin/restore/instances/:instance_id: the body, the instance's data
// as GET /admin/backup/instances/:instance_id wrote it, with the same BackupFormatHeader, brings
// the instance back with that data. Only for a locked broker, after PUT /admin/restore/state.
func (h *handler) restoreInstance(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	format := r.Header.Get(BackupFormatHeader)
	if format == "" {
		writeError(w, BadRequest("the %s header is missing: send the format the backup gave with the data", BackupFormatHeader))
		return
	}
	if err := h.admin.RestoreInstance(r.Context(), instanceID, format, r.Body); err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"restored": instanceID})
}
