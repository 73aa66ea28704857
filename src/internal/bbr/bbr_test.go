package bbr

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// fakeBroker serves the admin endpoints of a broker with two instances, one of which fails its
// restore, and remembers what was restored.
type fakeBroker struct {
	mu       sync.Mutex
	restored map[string]string
	cutShort bool // the backup of i-2 ends without its trailer
}

func (f *fakeBroker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	stream := func(format, data string, complete bool) {
		w.Header().Set("Trailer", osbapi.BackupComplete)
		if format != "" {
			w.Header().Set(osbapi.BackupFormatHeader, format)
		}
		_, _ = io.WriteString(w, data)
		if complete {
			w.Header().Set(osbapi.BackupComplete, "true")
		}
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /admin/backup/state":
		stream("", "records", true)
	case "GET /admin/backup/instances":
		_, _ = io.WriteString(w, `["i-1","i-2"]`)
	case "GET /admin/backup/instances/i-1":
		stream("dump", "dump of i-1", true)
	case "GET /admin/backup/instances/i-2":
		stream("volumes", "tar of i-2", !f.cutShort)
	case "PUT /admin/restore/state":
		data, _ := io.ReadAll(r.Body)
		f.restored["state"] = string(data)
		_, _ = io.WriteString(w, `["i-1","i-2","i-3"]`)
	case "PUT /admin/restore/instances/i-1", "PUT /admin/restore/instances/i-2":
		data, _ := io.ReadAll(r.Body)
		f.restored[strings.TrimPrefix(r.URL.Path, "/admin/restore/instances/")] = r.Header.Get(osbapi.BackupFormatHeader) + ":" + string(data)
		_, _ = io.WriteString(w, `{}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"description":"no such endpoint"}`)
	}
}

func TestABackupRestoresWhatItSavedAndNamesWhatItCannot(t *testing.T) {
	f := &fakeBroker{restored: map[string]string{}}
	server := httptest.NewServer(f)
	defer server.Close()
	var log strings.Builder
	c := &Client{URL: server.URL, Log: &log}
	dir := t.TempDir()
	ctx := context.Background()
	if err := c.Backup(ctx, dir); err != nil {
		t.Fatal(err)
	}
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil || json.Unmarshal(data, &m) != nil {
		t.Fatalf("manifest: %s %v", data, err)
	}
	if len(m.Instances) != 2 || m.Instances[0].File != "instances/i-1.dump" || m.Instances[1].File != "instances/i-2.tar" {
		t.Errorf("manifest %+v", m)
	}

	// The broker knows an instance the backup has no data of (i-3): the others are restored, and
	// the restore fails naming it.
	err = c.Restore(ctx, dir)
	if err == nil || !strings.Contains(err.Error(), "i-3 (no data in the backup)") {
		t.Errorf("restore: %v, want i-3 named", err)
	}
	want := map[string]string{"state": "records", "i-1": "dump:dump of i-1", "i-2": "volumes:tar of i-2"}
	for k, v := range want {
		if f.restored[k] != v {
			t.Errorf("restored %s: %q, want %q", k, f.restored[k], v)
		}
	}
}

func TestABackupCutShortFails(t *testing.T) {
	f := &fakeBroker{restored: map[string]string{}, cutShort: true}
	server := httptest.NewServer(f)
	defer server.Close()
	dir := t.TempDir()
	err := (&Client{URL: server.URL}).Backup(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "instance i-2") || !strings.Contains(err.Error(), "before its end") {
		t.Errorf("a backup whose stream lacks its trailer: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		t.Error("a failed backup wrote its manifest")
	}
}
