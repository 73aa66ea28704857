package osbapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// getBackup reads a backup stream to its end and returns its body, trailer and read error.
func getBackup(t *testing.T, h *harness, path string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(brokerUser, brokerPassword)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, "", err // the broker aborted the connection
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestABackupStreamEndsWithItsTrailerOnlyWhenComplete(t *testing.T) {
	h := newHarness(t)
	h.admin.setBackupWrite(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "the whole dump")
		return err
	})
	resp, body, err := getBackup(t, h, "/admin/backup/instances/i-1")
	if err != nil || resp.StatusCode != http.StatusOK || body != "the whole dump" {
		t.Fatalf("complete backup: %v %q %v", resp, body, err)
	}
	if resp.Header.Get(osbapi.BackupFormatHeader) != "dump" || resp.Trailer.Get(osbapi.BackupComplete) != "true" {
		t.Errorf("complete backup: format %q, trailer %v", resp.Header.Get(osbapi.BackupFormatHeader), resp.Trailer)
	}

	h.admin.setBackupWrite(func(_ context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "half a dump")
		return errors.New("pg_dumpall: connection lost")
	})
	// Written so far may be buffered: the client sees an error or a stream without the trailer.
	resp, _, err = getBackup(t, h, "/admin/backup/instances/i-1")
	if err == nil && resp.Trailer.Get(osbapi.BackupComplete) != "" {
		t.Errorf("a backup cut short reads as complete: trailer %v", resp.Trailer)
	}

	h.admin.setBackupWrite(func(context.Context, io.Writer) error { return errors.New("the container is gone") })
	resp, body, err = getBackup(t, h, "/admin/backup/instances/i-1")
	if err != nil || resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "container is gone") {
		t.Errorf("a backup failing before its first byte: %d %s, want 500 without the internal error", resp.StatusCode, body)
	}
	resp, _, err = getBackup(t, h, "/admin/backup/instances/i-2")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("backup of an unknown instance: %d, want 404", resp.StatusCode)
	}
}

func TestARestoreNeedsTheFormatOfItsData(t *testing.T) {
	h := newHarness(t)
	resp := h.do(http.MethodPut, "/admin/restore/instances/i-1", "tar data")
	assertStatus(t, resp, http.StatusBadRequest)
	if !strings.Contains(string(resp.Body), osbapi.BackupFormatHeader) {
		t.Errorf("restore without a format: %s, want the header named", resp.Body)
	}
	resp = h.do(http.MethodPut, "/admin/restore/instances/i-1", "tar data", withHeader(osbapi.BackupFormatHeader, "volumes"))
	assertStatus(t, resp, http.StatusOK)
	if got := h.admin.restoredOf("i-1"); got != "volumes:tar data" {
		t.Errorf("restored %q", got)
	}
}
