package osbapi

import "net/http"

// BackupComplete is the trailer that ends every backup stream the broker wrote in full: a
// stream without it was cut short (the broker writes the status before it knows how the copy
// ends).
const BackupComplete = "Docker-Broker-Backup-Complete"

// backupState is GET /admin/backup/state: a consistent copy of the broker's state file (bbolt),
// with every record and credential. Only for a locked broker.
func (h *handler) backupState(w http.ResponseWriter, r *http.Request) {
	h.streamBackup(w, r, "", func(w http.ResponseWriter) error { return h.admin.BackupState(r.Context(), w) })
}

// streamBackup answers 200 with what write writes, and the BackupComplete trailer when it
// wrote all of it. A failure before anything is written is an ordinary error answer; one after
// aborts the connection, so that no client takes a partial stream for a backup.
func (h *handler) streamBackup(w http.ResponseWriter, r *http.Request, format string, write func(w http.ResponseWriter) error) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", BackupComplete)
	if format != "" {
		w.Header().Set(BackupFormatHeader, format)
	}
	counted := &countingWriter{ResponseWriter: w}
	if err := write(counted); err != nil {
		if counted.written {
			h.log.Error("backup stream failed", "path", r.URL.Path, "error", err.Error())
			panic(http.ErrAbortHandler)
		}
		w.Header().Del("Trailer")
		w.Header().Del(BackupFormatHeader)
		h.fail(w, r, err)
		return
	}
	w.Header().Set(BackupComplete, "true")
}

// countingWriter notes whether anything was written (and with it the status).
type countingWriter struct {
	http.ResponseWriter
	written bool
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.written = true
	return c.ResponseWriter.Write(p)
}
