package osbapi

import "net/http"

// BackupFormatHeader names the format of an instance's data in a backup ("dump", "volumes"):
// the broker sends it with the data, and the restore sends it back.
const BackupFormatHeader = "Docker-Broker-Backup-Format"

// backupInstance is GET /admin/backup/instances/:instance_id: the instance's data, streamed as
// the plan's dump command writes it or as a tar archive of its volumes (BackupFormatHeader
// tells which), ended by the BackupComplete trailer. Only for a locked broker.
func (h *handler) backupInstance(w http.ResponseWriter, r *http.Request) {
	instanceID, _, bad := pathIDs(r)
	if bad != nil {
		writeError(w, bad)
		return
	}
	format, write, err := h.admin.BackupInstance(r.Context(), instanceID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.streamBackup(w, r, format, func(w http.ResponseWriter) error {
		return write(r.Context(), w)
	})
}
