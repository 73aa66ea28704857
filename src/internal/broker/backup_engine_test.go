package broker_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/cloudfoundry-community/docker-broker/src/internal/bbr"
	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// testLog is an io.Writer into the test's log, for what the BBR client tells the operator.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestBackupAndRestoreBringBackEveryInstanceWithItsCredentialsAndData backs up a broker with two
// PostgreSQL (pg_dumpall), a MySQL and a MariaDB (mysqldump, mariadb-dump) and a Redis (its
// volume, copied while stopped) through the BBR client, as the job's scripts run it; then loses
// every instance's container, data and record, restores, and reads the data written before the
// backup with the credentials of the bindings made before it. What was written after the backup
// is gone.
func TestBackupAndRestoreBringBackEveryInstanceWithItsCredentialsAndData(t *testing.T) {
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	ctx := context.Background()
	offerings := []offering{
		{"services/op-postgresql96.yml", openPostgres},
		{"services/op-postgresql17.yml", openPostgres},
		{"services/op-mysql56.yml", openMySQL},
		{"services/op-mariadb11.yml", openMySQL},
		{"services/op-redis32.yml", openRedisByPassword},
	}
	const redis32 = 4 // the index of redis32 in offerings
	var files []string
	for _, o := range offerings {
		files = append(files, o.file)
	}
	services := brokertest.Services(t, files...)
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	h := startHarness(t, services, func(c *broker.Config) { c.PortRange = [2]int{25100, 25199} })
	client := &bbr.Client{URL: h.URL, Username: brokertest.Username, Password: brokertest.Password, Log: testLog{t}}

	ids := make([]string, len(offerings))
	bound := make([]creds, len(offerings))
	for i, o := range offerings {
		service, plan := cat.Services[i].ID, cat.Services[i].Plans[0].ID
		ids[i] = "bbr-" + cat.Services[i].Name
		h.provision(ids[i], service, plan)
		_, bound[i] = h.bind(ids[i], "app", service, plan)
		s := mustOpen(t, o, bound[i])
		mustWrite(t, s, "saved", "written before the backup")
		s.close()
	}

	if err := client.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	status, body := h.do("PUT", "/v2/service_instances/while-locked?accepts_incomplete=true", provisionBody(cat.Services[redis32].ID, cat.Services[redis32].Plans[0].ID))
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "ConcurrencyError") || !strings.Contains(string(body), "backed up or restored") {
		t.Errorf("a provision while the broker is locked: %d %s, want 422 ConcurrencyError saying why", status, body)
	}
	dir := t.TempDir()
	if err := client.Backup(ctx, dir); err != nil {
		t.Fatalf("backup: %v\nbroker log:\n%s", err, h.Logs)
	}
	if err := client.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	assertPrivateFiles(t, dir)

	// After the backup: more data, then everything of every instance is lost.
	for i, o := range offerings {
		s := reopen(t, o, bound[i], "after the backup")
		mustWrite(t, s, "unsaved", "written after the backup")
		s.close()
	}
	for _, id := range ids {
		if err := h.Docker.Engine.RemoveContainer(ctx, "cf-"+id); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(h.Config.DataDir, "cf-"+id)); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.DeleteInstance(id, nil); err != nil {
			t.Fatal(err)
		}
	}

	if err := client.Restore(ctx, dir); err == nil || !strings.Contains(err.Error(), "not locked") {
		t.Errorf("a restore of an unlocked broker: %v, want a refusal saying to lock it", err)
	}
	if err := client.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := client.Restore(ctx, dir); err != nil {
		t.Fatalf("restore: %v\nbroker log:\n%s", err, h.Logs)
	}
	if err := client.Unlock(ctx); err != nil {
		t.Fatal(err)
	}

	for i, o := range offerings {
		s := reopen(t, o, bound[i], "after the restore, with the binding's credentials of before the backup")
		mustRead(t, s, "saved", "written before the backup")
		if got, err := s.read(ctx, "unsaved"); err == nil {
			t.Errorf("%s: %q, written after the backup, is there after the restore", ids[i], got)
		}
		s.close()
		status, body := h.do("GET", "/v2/service_instances/"+ids[i]+"/service_bindings/app", nil)
		if status != http.StatusOK || !strings.Contains(string(body), bound[i].Password) {
			t.Errorf("%s: the binding after the restore: %d, want it with its credentials", ids[i], status)
		}
	}
	var secrets []string
	for _, c := range bound {
		secrets = append(secrets, c.Password)
	}
	assertNoSecretsLogged(t, h, secrets...)
}

// openRedisByPassword connects as an app bound to redis32 does: its credentials have a host,
// a port and a password, and no uri.
func openRedisByPassword(ctx context.Context, c creds) (session, error) {
	c.URI = (&url.URL{Scheme: "redis", User: url.UserPassword("", c.Password), Host: net.JoinHostPort(c.Host, c.Port)}).String()
	return openRedis(ctx, c)
}

// assertPrivateFiles fails if a file of the backup in dir is readable by others than its owner.
func assertPrivateFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %o: the backup holds credentials", p, info.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
