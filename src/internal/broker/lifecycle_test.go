package broker_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// TestRedisLifecycle is the whole life of an instance as a platform and an app see it.
func TestRedisLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	const id, bindingID = "redis-life", "redis-life-key"
	h.provision(id, redisService, redisFree)

	status, c := h.bind(id, bindingID, redisService, redisFree)
	if status != http.StatusCreated {
		t.Fatalf("first bind: %d, want 201", status)
	}
	if c.Hostname != "127.0.0.1" || c.Host != "127.0.0.1" || c.Port == "" || c.Ports["6379/tcp"] != c.Port || len(c.Password) < 20 {
		t.Fatalf("credentials not in the seed's shape: %+v", c)
	}
	if c.Username != "" || c.DBName != "" || c.URI != "" {
		t.Errorf("the redis32 plan configures only a password, got %+v", c)
	}
	addr := net.JoinHostPort(c.Host, c.Port)
	client := redis.NewClient(&redis.Options{Addr: addr, Password: c.Password})
	defer client.Close()
	if err := client.Set(ctx, "greeting", "hello", 0).Err(); err != nil {
		t.Fatalf("writing with the handed-out credentials: %v", err)
	}
	wrong := redis.NewClient(&redis.Options{Addr: addr, Password: "not-" + c.Password})
	if err := wrong.Ping(ctx).Err(); err == nil {
		t.Error("the instance answers a wrong password")
	}
	wrong.Close()

	again, c2 := h.bind(id, bindingID, redisService, redisFree)
	if again != http.StatusOK || !reflect.DeepEqual(c2, c) {
		t.Errorf("repeated identical bind: %d %+v, want 200 with the same credentials", again, c2)
	}

	// The container restarts (a crash, a dockerd upgrade): data and address stay.
	name := "cf-" + id
	if err := h.Docker.Engine.StopContainer(ctx, name, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Docker.Engine.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	waitRedis(t, client)
	if got, err := client.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Fatalf("after a container restart: %q, %v", got, err)
	}

	// The broker restarts: the binding and its credentials are still there.
	h.Restart()
	status, body := h.do("GET", "/v2/service_instances/"+id+"/service_bindings/"+bindingID, nil)
	var fetched struct{ Credentials creds }
	if err := json.Unmarshal(body, &fetched); status != http.StatusOK || err != nil || !reflect.DeepEqual(fetched.Credentials, c) {
		t.Fatalf("binding after a broker restart: %d %s", status, body)
	}
	container, err := h.Docker.Engine.InspectContainer(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(container.Ports) != 1 || container.Ports[0].HostPort != c.Port {
		t.Errorf("container publishes %+v, credentials say port %s", container.Ports, c.Port)
	}
	if got, err := client.Get(ctx, "greeting").Result(); err != nil || got != "hello" {
		t.Fatalf("after a broker restart: %q, %v", got, err)
	}

	status, _ = h.do("DELETE", "/v2/service_instances/"+id+"/service_bindings/"+bindingID+"?service_id="+redisService+"&plan_id="+redisFree, nil)
	if status != http.StatusOK {
		t.Errorf("unbind: %d", status)
	}
	status, _ = h.do("DELETE", "/v2/service_instances/"+id+"/service_bindings/"+bindingID+"?service_id="+redisService+"&plan_id="+redisFree, nil)
	if status != http.StatusGone {
		t.Errorf("second unbind: %d, want 410", status)
	}

	status, body = h.deprovision(id, redisService, redisFree, true)
	if status != http.StatusAccepted {
		t.Fatalf("deprovision: %d %s", status, body)
	}
	if state, desc := h.waitOperation(id); state != "succeeded" {
		t.Fatalf("deprovision ended %s: %s", state, desc)
	}
	if _, err := h.Docker.Engine.InspectContainer(ctx, name); !dockerengine.IsNotFound(err) {
		t.Errorf("container still there after deprovision: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.Config.DataDir, name)); !os.IsNotExist(err) {
		t.Errorf("instance directory still there after deprovision: %v", err)
	}
	if status, _ := h.deprovision(id, redisService, redisFree, true); status != http.StatusGone {
		t.Errorf("second deprovision: %d, want 410", status)
	}
	assertNoSecretsLogged(t, h, c.Password)
}

func waitRedis(t *testing.T, client *redis.Client) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for client.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis does not answer after its restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertNoSecretsLogged greps the broker's log for every secret it handed out.
func assertNoSecretsLogged(t *testing.T, h *harness, secrets ...string) {
	t.Helper()
	logs := h.Logs.String()
	if logs == "" {
		t.Fatal("the broker logged nothing: the secret check would prove nothing")
	}
	for _, s := range append(secrets, brokertest.Password) {
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%d chars) appears in the broker's log", len(s))
		}
	}
}

// TestSQLServicesHandOutWorkingCredentials provisions postgresql96 and mysql56 synchronously,
// as a platform without async support would, and uses them with real drivers.
func TestSQLServicesHandOutWorkingCredentials(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()

	status, body := h.do("PUT", "/v2/service_instances/pg-1", provisionBody(postgresService, postgresFree))
	if status != http.StatusCreated {
		t.Fatalf("synchronous provision of postgresql96: %d %s\n%s", status, body, h.Logs)
	}
	_, pg := h.bind("pg-1", "pg-1-b", postgresService, postgresFree)
	if pg.Username == "" || pg.DBName == "" || !strings.HasPrefix(pg.URI, "postgres://"+pg.Username+":"+pg.Password+"@127.0.0.1:"+pg.Port+"/"+pg.DBName) {
		t.Fatalf("postgres credentials: %+v", pg)
	}
	conn, err := pgx.Connect(ctx, pg.URI)
	if err != nil {
		t.Fatalf("connecting with the uri: %v", err)
	}
	for _, q := range []string{"CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('row')"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	status, body = h.do("PUT", "/v2/service_instances/my-1", provisionBody(mysqlService, mysqlFree))
	if status != http.StatusCreated {
		t.Fatalf("synchronous provision of mysql56: %d %s\n%s", status, body, h.Logs)
	}
	_, my := h.bind("my-1", "my-1-b", mysqlService, mysqlFree)
	if !strings.HasPrefix(my.URI, "mysql://") || my.Username == "" || my.DBName == "" {
		t.Fatalf("mysql credentials: %+v", my)
	}
	dsn := fmt.Sprintf("%s:%s@tcp(%s)/%s", my.Username, my.Password, net.JoinHostPort(my.Host, my.Port), my.DBName)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE TABLE kept (v text)", "INSERT INTO kept VALUES ('row')"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// Both containers are recreated from their records (as after a lost container): the
	// data lives in the instance directories.
	for _, name := range []string{"cf-pg-1", "cf-my-1"} {
		if err := h.Docker.Engine.RemoveContainer(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	h.Restart()
	status, body = h.do("GET", "/admin/reconciliation", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"recreated_containers":["my-1","pg-1"]`) {
		t.Errorf("reconciliation report: %d %s", status, body)
	}
	conn, err = pgx.Connect(ctx, pg.URI)
	if err != nil {
		t.Fatalf("postgres after recreation: %v", err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "row" {
		t.Errorf("postgres row after recreation: %q %v", v, err)
	}
	conn.Close(ctx)
	if err := db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "row" {
		t.Errorf("mysql row after recreation: %q %v", v, err)
	}
	assertNoSecretsLogged(t, h, pg.Password, my.Password)
}
