package standin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// --- etcd ----------------------------------------------------------------------------------

func etcdClient(t *testing.T, addr string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The contract of gcr.io/etcd-development/etcd:v3.6 as the broker uses it: etcd configured by
// ETCD_* variables, its data on a volume at /var/lib/etcd, etcdctl on PATH and in
// /usr/local/bin.
func TestEtcdKeepsDataAcrossRecreate(t *testing.T) {
	t.Parallel()
	dir := hostDir(t)
	s := start(t, standin.Etcd, dockerengine.ContainerSpec{
		Env: []string{
			"ETCD_NAME=etcd",
			"ETCD_DATA_DIR=/var/lib/etcd/data",
			"ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379",
			"ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:2379",
		},
		Binds: []string{dir + ":/var/lib/etcd"},
	})
	c := etcdClient(t, s.addr())
	s.waitFor("etcd taking a put", func(ctx context.Context) error {
		_, err := c.Put(ctx, "k", "kept")
		return err
	})
	for _, cmd := range [][]string{
		{"etcdctl", "--endpoints=http://127.0.0.1:2379", "endpoint", "health"},
		{"/usr/local/bin/etcdctl", "version"},
	} {
		if code, out := s.exec(cmd); code != 0 {
			t.Errorf("%q: exit %d: %s", cmd, code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "member")); err != nil {
		t.Errorf("the data is not in ETCD_DATA_DIR on the volume: %v", err)
	}

	s.recreate()
	c = etcdClient(t, s.addr())
	s.waitFor("etcd answering after recreate", func(ctx context.Context) error {
		res, err := c.Get(ctx, "k")
		if err == nil && (len(res.Kvs) != 1 || string(res.Kvs[0].Value) != "kept") {
			t.Fatalf("after recreate: %v, want kept", res.Kvs)
		}
		return err
	})
}

// --- InfluxDB 1 ----------------------------------------------------------------------------

// influxQuery runs an InfluxQL statement over the HTTP API as user (none if ""), returning the
// HTTP status and the body.
func influxQuery(ctx context.Context, addr, user, password, db, q string) (int, string, error) {
	form := url.Values{"q": {q}, "db": {db}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// influxOK runs q and fails unless it answers 200 without an error in the result.
func influxOK(ctx context.Context, addr, user, password, db, q string) (string, error) {
	code, body, err := influxQuery(ctx, addr, user, password, db, q)
	if err == nil && (code != http.StatusOK || strings.Contains(body, `"error"`)) {
		err = fmt.Errorf("%s: %d %s", q, code, body)
	}
	return body, err
}

// The contract of influxdb:1.12 as the broker uses it: /entrypoint.sh influxd, with the
// database, admin and user of the INFLUXDB_* variables made on the first start only, auth on,
// the data on a volume at /var/lib/influxdb. Upstream's init script puts the passwords into
// InfluxQL strings as they are, so a password with a single quote breaks it there as here.
func TestInfluxDB1KeepsDataAndUsersAcrossRecreate(t *testing.T) {
	t.Parallel()
	const admin, adminPW, user, userPW = "admin", "admin pw\"$1", "app", "app-pw"
	env := []string{
		"INFLUXDB_DB=appdb", "INFLUXDB_HTTP_AUTH_ENABLED=true",
		"INFLUXDB_ADMIN_USER=" + admin, "INFLUXDB_ADMIN_PASSWORD=" + adminPW,
		"INFLUXDB_USER=" + user, "INFLUXDB_USER_PASSWORD=" + userPW,
	}
	dir := hostDir(t)
	s := start(t, standin.InfluxDB1, dockerengine.ContainerSpec{
		Cmd:   []string{"sh", "-ec", "exec /entrypoint.sh influxd"}, // as the broker's command runs it
		Env:   env,
		Binds: []string{dir + ":/var/lib/influxdb"},
	})
	s.waitFor("influxdb taking a write of "+user, func(ctx context.Context) error {
		return influxWrite(ctx, s.addr(), user, userPW, "appdb", `m,k=x v="kept"`)
	})
	ctx := context.Background()
	if body, err := influxOK(ctx, s.addr(), user, userPW, "appdb", `SELECT last(v) FROM m`); err != nil || !strings.Contains(body, `"kept"`) {
		t.Errorf("reading the point back: %s %v", body, err)
	}
	if code, _, err := influxQuery(ctx, s.addr(), "", "", "appdb", "SHOW MEASUREMENTS"); err != nil || code != http.StatusUnauthorized {
		t.Errorf("a query without credentials: %d %v, want 401", code, err)
	}
	if _, err := influxOK(ctx, s.addr(), user, userPW, "", "CREATE USER intruder WITH PASSWORD 'x'"); err == nil {
		t.Error("INFLUXDB_USER may create users")
	}
	if _, err := influxOK(ctx, s.addr(), admin, adminPW, "", "CREATE USER extra WITH PASSWORD 'extra-pw'"); err != nil {
		t.Errorf("the admin creating a user: %v", err)
	}
	// What the services file's health check runs: the final server on the container's address.
	if code, out := s.exec([]string{"sh", "-c", `curl -sf -o /dev/null "http://$(hostname -i | cut -d" " -f1):8086/ping"`}); code != 0 {
		t.Errorf("ping on the container's address: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "meta", "meta.db")); err != nil {
		t.Errorf("the data is not on the volume: %v", err)
	}

	s.spec.Env = append(env[:len(env):len(env)], "INFLUXDB_ADMIN_PASSWORD=ignored")
	s.recreate()
	s.waitFor("influxdb answering the admin after recreate", func(ctx context.Context) error {
		_, err := influxOK(ctx, s.addr(), admin, adminPW, "appdb", "SHOW USERS")
		return err
	})
	if body, err := influxOK(ctx, s.addr(), user, userPW, "appdb", `SELECT last(v) FROM m`); err != nil || !strings.Contains(body, `"kept"`) {
		t.Errorf("after recreate: %s %v", body, err)
	}
	if _, err := influxOK(ctx, s.addr(), "extra", "extra-pw", "", "SHOW DATABASES"); err != nil {
		t.Errorf("the user created before recreate: %v", err)
	}
}

// influxWrite writes points in line protocol to db as user.
func influxWrite(ctx context.Context, addr, user, password, db, lines string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/write?db="+url.QueryEscape(db), strings.NewReader(lines))
	if err != nil {
		return err
	}
	req.SetBasicAuth(user, password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		body, _ := io.ReadAll(res.Body)
		return fmt.Errorf("write: %d %s", res.StatusCode, body)
	}
	return nil
}
