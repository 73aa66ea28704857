// Package bbr is the operator's side of backup and restore with BOSH Backup and Restore: the
// docker-broker job's BBR scripts run `docker-broker bbr ...`, which locks and unlocks the
// running broker and moves its backup between the broker's admin endpoints (osbapi admin_*)
// and BBR's artifact directory.
//
// An artifact directory holds the broker's state file (state.db: every instance and binding
// with its credentials and host ports), one file of data per provisioned instance
// (instances/<id>.dump or instances/<id>.tar, as the instance's plan saves it) and
// manifest.json, which lists them. Every file is private to root (0600): they hold secrets.
package bbr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Client talks to a broker's admin endpoints.
type Client struct {
	URL      string // the broker's base URL, "http://127.0.0.1:8080"
	Username string
	Password string
	HTTP     *http.Client // nil: http.DefaultClient
	// Log receives one line per step, for the operator (BBR shows it).
	Log io.Writer
}

// Manifest lists what an artifact directory holds.
type Manifest struct {
	Version   int        `json:"version"`
	State     string     `json:"state"` // the state file's name in the directory
	Instances []Instance `json:"instances"`
}

// Instance is one instance's data in an artifact directory.
type Instance struct {
	ID     string `json:"id"`
	Format string `json:"format"` // as the broker gave it: dump or volumes
	File   string `json:"file"`   // relative to the directory
}

const (
	manifestFile    = "manifest.json"
	stateFile       = "state.db"
	manifestVersion = 1
)

// Lock locks the broker: it refuses changes and has no operation running when Lock returns.
func (c *Client) Lock(ctx context.Context) error {
	return c.call(ctx, http.MethodPut, "/admin/lock", nil, nil, nil)
}

// Unlock lets the broker accept changes again.
func (c *Client) Unlock(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/admin/lock", nil, nil, nil)
}

// Backup saves the locked broker's state file and every provisioned instance's data into dir.
func (c *Client) Backup(ctx context.Context, dir string) error {
	m := Manifest{Version: manifestVersion, State: stateFile, Instances: []Instance{}}
	if _, err := c.download(ctx, "/admin/backup/state", filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("backing up the broker's state: %w", err)
	}
	c.logf("saved the broker's state (instances, bindings, credentials)")
	var ids []string
	if err := c.call(ctx, http.MethodGet, "/admin/backup/instances", nil, nil, &ids); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "instances"), 0o700); err != nil {
		return err
	}
	for _, id := range ids {
		// The name is known once the broker told the format: the data goes to a temporary
		// file first, renamed then.
		tmp := filepath.Join(dir, "instances", id+".partial")
		format, err := c.download(ctx, "/admin/backup/instances/"+url.PathEscape(id), tmp)
		if err != nil {
			return fmt.Errorf("backing up instance %s: %w", id, err)
		}
		file := filepath.Join("instances", id+"."+fileExtension(format))
		if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
			return err
		}
		m.Instances = append(m.Instances, Instance{ID: id, Format: format, File: file})
		c.logf("saved instance %s (%s)", id, format)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, manifestFile), append(data, '\n'), 0o600); err != nil {
		return err
	}
	c.logf("backup complete: the broker's state and %d instance(s) in %s", len(m.Instances), dir)
	return nil
}

// Restore brings the locked broker back to a backup in dir: its records first, then every
// instance's data. It restores every instance it can and fails naming those it could not.
func (c *Client) Restore(ctx context.Context, dir string) error {
	m, err := readManifest(dir)
	if err != nil {
		return err
	}
	var restoring []string
	err = c.upload(ctx, "/admin/restore/state", filepath.Join(dir, m.State), nil, &restoring)
	if err != nil {
		return fmt.Errorf("restoring the broker's state: %w", err)
	}
	c.logf("restored the broker's state: %d instance(s) to bring back", len(restoring))
	have := map[string]Instance{}
	for _, inst := range m.Instances {
		have[inst.ID] = inst
	}
	var failed []string
	for _, id := range restoring {
		inst, ok := have[id]
		if !ok {
			failed = append(failed, id+" (no data in the backup)")
			continue
		}
		header := http.Header{osbapi.BackupFormatHeader: {inst.Format}}
		if err := c.upload(ctx, "/admin/restore/instances/"+url.PathEscape(id), filepath.Join(dir, inst.File), header, nil); err != nil {
			c.logf("instance %s: FAILED: %v", id, err)
			failed = append(failed, id)
			continue
		}
		c.logf("restored instance %s (%s)", id, inst.Format)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d instance(s) not restored: %s (the broker's log says why)", len(failed), len(restoring), strings.Join(failed, ", "))
	}
	c.logf("restore complete: %d instance(s)", len(restoring))
	return nil
}

// fileExtension names an instance's data file by its format: a tar archive, or a dump.
func fileExtension(format string) string {
	if format == "volumes" {
		return "tar"
	}
	return "dump"
}

func readManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return m, fmt.Errorf("%s is no backup of docker-broker: %w", dir, err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, manifestFile), err)
	}
	if m.Version != manifestVersion {
		return m, fmt.Errorf("%s: version %d, this docker-broker reads version %d", filepath.Join(dir, manifestFile), m.Version, manifestVersion)
	}
	return m, nil
}

// download writes what GET path answers to the file at dest (0600) and returns the data's
// format. A stream without the broker's completion trailer is an error.
func (c *Client) download(ctx context.Context, path, dest string) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, resp.Body)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil && resp.Trailer.Get(osbapi.BackupComplete) != "true" {
		err = errors.New("the broker ended the stream before its end: see the broker's log")
	}
	if err != nil {
		os.Remove(dest)
		return "", err
	}
	return resp.Header.Get(osbapi.BackupFormatHeader), nil
}

// upload sends the file at src with PUT path and decodes the JSON answer into out (if set).
func (c *Client) upload(ctx context.Context, path, src string, header http.Header, out any) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.call(ctx, http.MethodPut, path, f, header, out)
}

// call sends a request and decodes a JSON answer into out (if set).
func (c *Client) call(ctx context.Context, method, path string, body io.Reader, header http.Header, out any) error {
	resp, err := c.send(ctx, method, path, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: the broker's answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a 200 answer; any other is an error with the broker's
// description.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.URL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.SetBasicAuth(c.Username, c.Password)
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var answer struct {
		Description string `json:"description"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(data, &answer) != nil || answer.Description == "" {
		answer.Description = strings.TrimSpace(string(data))
	}
	return nil, fmt.Errorf("%s %s: the broker answered %s: %s", method, path, resp.Status, answer.Description)
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}
