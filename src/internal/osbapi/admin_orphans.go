package osbapi

import (
	"net/http"
	"time"
)

// Orphans is GET /admin/orphans: what the broker's records and the engine disagree on now,
// compared when asked and without changing anything. The orphan-report errand prints it.
type Orphans struct {
	At time.Time `json:"at"`
	// ContainersWithoutRecord are the names of containers labelled as this broker's whose
	// instance it has no record of (e.g. after the state file was lost or replaced).
	ContainersWithoutRecord []string `json:"containers_without_record"`
	// DirectoriesWithoutRecord are instance directories in the data directory that belong to
	// no record: the data of an instance the broker no longer knows.
	DirectoriesWithoutRecord []string `json:"directories_without_record"`
	// RecordsWithoutContainer are the ids of provisioned instances, no operation running,
	// whose container is gone (removed behind the broker's back).
	RecordsWithoutContainer []string `json:"records_without_container"`
}

// Any tells whether anything is orphaned.
func (o Orphans) Any() bool {
	return len(o.ContainersWithoutRecord)+len(o.DirectoriesWithoutRecord)+len(o.RecordsWithoutContainer) > 0
}

// orphans is GET /admin/orphans. For the operator; behind the same basic auth.
func (h *handler) orphans(w http.ResponseWriter, r *http.Request) {
	report, err := h.admin.Orphans(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, report)
}
