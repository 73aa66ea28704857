package broker_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
)

// session is one open connection of an app to a service, made with a binding's credentials.
type session interface {
	write(ctx context.Context, key, value string) error
	read(ctx context.Context, key string) (string, error)
	alive(ctx context.Context) error // a round trip on this very connection
	// admin tries what only the instance's admin may do; nil means it worked.
	admin(ctx context.Context) error
	close()
}

// offering is a services file and how an app of its engine connects. Its first plan gives
// every binding a user of its own, or has no `bindings` (memcached has no users at all): then
// every binding gets the same credentials, which unbinding does not revoke, and the runner
// leaves out what is about users. A plan without persistent volumes keeps its data in memory
// only (a cache): a restart empties it.
type offering struct {
	file string // services/op-*.yml
	open func(ctx context.Context, c creds) (session, error)
}

var provenOfferings = []offering{
	{"services/op-postgresql17.yml", openPostgres},
	{"services/op-postgresql96.yml", openPostgres},
	{"services/op-mysql84.yml", openMySQL},
	{"services/op-mysql56.yml", openMySQL},
	{"services/op-redis74.yml", openRedis},
	{"services/op-rabbitmq4.yml", openRabbitMQ},
	{"services/op-memcached16.yml", openMemcached},
	{"services/op-nats2.yml", openNATS},
	{"services/op-mosquitto2.yml", openMQTT},
	{"services/op-influxdb1.yml", openInfluxDB1},
	{"services/op-etcd36.yml", openEtcd},
	{"services/op-postgresql18.yml", openPostgres},
	{"services/op-postgis.yml", openPostGIS},
	{"services/op-mariadb11.yml", openMySQL},
	{"services/op-valkey8.yml", openRedis},
	{"services/op-redis8.yml", openRedis},
	{"services/op-zookeeper39.yml", openZooKeeper},
}

// TestEveryProvenOfferingWithItsRealClient runs, for every offering with a stand-in image, the
// life of an instance with the engine's real client. Where the plan gives every binding a user
// of its own (issue 9): two bindings are two users that share the data; unbinding one refuses
// its credentials and ends its open session while the other goes on; users survive a container
// restart and a broker restart; nothing secret reaches the log or `docker inspect`. An offering
// without users (memcached, etcd) runs the same life with what is about users left out: its
// bindings share the service, which still survives both restarts (answering again, empty, if it
// is a cache).
func TestEveryProvenOfferingWithItsRealClient(t *testing.T) {
	// The driver logs every connection the test has the server end: that is the point here.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	for i, o := range provenOfferings {
		name := strings.TrimSuffix(strings.TrimPrefix(o.file, "services/op-"), ".yml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			services := brokertest.Services(t, o.file)
			h := startHarness(t, services, func(c *broker.Config) {
				// Parallel brokers, one engine: ranges of their own, above every other test's.
				c.PortRange = [2]int{23000 + 100*i, 23099 + 100*i}
			})
			exerciseBindingUsers(t, h, services, o, "users-"+name)
		})
	}
}

// exerciseBindingUsers runs the life of two bindings of instance id of the first plan of services.
func exerciseBindingUsers(t *testing.T, h *harness, services []byte, o offering, id string) {
	ctx := context.Background()
	cat, _, err := catalog.Parse(services)
	if err != nil {
		t.Fatal(err)
	}
	service, plan := cat.Services[0].ID, cat.Services[0].Plans[0].ID
	ownUsers := cat.Services[0].Plans[0].Bindings != nil
	durable := len(cat.Services[0].Plans[0].Container.PersistentVolumes) > 0
	h.provision(id, service, plan)

	_, c1 := h.bind(id, "b1", service, plan)
	_, c2 := h.bind(id, "b2", service, plan)
	if ownUsers && (c1.Username == "" || c1.Username == c2.Username || c1.Password == c2.Password) {
		t.Fatalf("two bindings, users %q and %q: want two users of their own", c1.Username, c2.Username)
	}
	if !ownUsers && !reflect.DeepEqual(c1, c2) {
		t.Fatalf("two bindings of a service without users: %+v and %+v, want the same credentials", c1, c2)
	}
	s1 := mustOpen(t, o, c1)
	defer s1.close()
	s2 := mustOpen(t, o, c2)
	defer s2.close()
	mustWrite(t, s1, "k1", "written by the first binding")
	mustRead(t, s2, "k1", "written by the first binding")
	mustWrite(t, s2, "k2", "written by the second binding")
	mustRead(t, s1, "k2", "written by the second binding")
	if err := s1.admin(ctx); ownUsers && err == nil {
		t.Error("a binding's user may administer the service")
	}

	// Both users survive a container restart and a broker restart, and so does the data,
	// unless the service is a cache: then it answers again, empty.
	name := "cf-" + id
	if err := h.Docker.Engine.StopContainer(ctx, name, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Docker.Engine.StartContainer(ctx, name); err != nil {
		t.Fatal(err)
	}
	h.Restart()
	for _, c := range []creds{c1, c2} {
		s := reopen(t, o, c, "after a container restart and a broker restart")
		if durable {
			mustRead(t, s, "k2", "written by the second binding")
		} else if v, err := s.read(ctx, "k2"); err == nil {
			t.Errorf("the cache still holds %q after a restart: was the container restarted?", v)
		}
		s.close()
	}
	s1.close()
	s1 = mustOpen(t, o, c1)
	s2.close()
	s2 = mustOpen(t, o, c2)
	if !durable {
		mustWrite(t, s1, "k1", "written by the first binding")
		mustWrite(t, s2, "k2", "written by the second binding")
	}

	unbind(t, h, id, "b1", service, plan)
	if ownUsers {
		if s, err := o.open(ctx, c1); err == nil {
			s.close()
			t.Error("the unbound binding's credentials still log in")
		}
		if !eventually(5*time.Second, func() bool { return s1.alive(ctx) != nil }) {
			t.Error("the unbound binding's open session still works")
		}
	}
	mustRead(t, s2, "k1", "written by the first binding")
	_, c3 := h.bind(id, "b3", service, plan)
	s3 := mustOpen(t, o, c3)
	mustRead(t, s3, "k2", "written by the second binding")
	s3.close()
	unbind(t, h, id, "b3", service, plan)

	inst, _, err := h.Store.Instance(id)
	if err != nil {
		t.Fatal(err)
	}
	secrets := nonEmpty(c1.Username, c1.Password, c2.Username, c2.Password, c3.Username, c3.Password)
	assertNoSecretsLogged(t, h, nonEmpty(append(secrets, inst.Credentials.Password)...)...)
	password := cat.Services[0].Plans[0].Credentials.Password
	if password != nil && (password.AsFile || password.Key == "") {
		secrets = append(secrets, inst.Credentials.Password)
	}
	if password != nil && password.Key == "" {
		// In no variable, the password reached the service some other way (a file): the
		// instance's own user logs in with it.
		admin := c2
		admin.Username, admin.Password = inst.Credentials.Username, inst.Credentials.Password
		u, err := url.Parse(c2.URI)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(admin.Username, admin.Password)
		admin.URI = u.String()
		s, err := o.open(ctx, admin)
		if err != nil {
			t.Fatalf("the instance's user with the password passed in no variable: %v", err)
		}
		s.close()
	}
	assertNotInInspect(t, h, name, secrets...)
}

// nonEmpty is values without the empty ones: the secrets an offering has (memcached has none,
// and "" is in every log).
func nonEmpty(values ...string) []string {
	var kept []string
	for _, v := range values {
		if v != "" {
			kept = append(kept, v)
		}
	}
	return kept
}

// assertNotInInspect runs `docker inspect` on the container as an operator would and fails if
// it shows any of secrets.
func assertNotInInspect(t *testing.T, h *harness, container string, secrets ...string) {
	t.Helper()
	out, err := exec.Command("docker", "-H", "unix://"+h.Docker.Socket, "inspect", container).CombinedOutput()
	if err != nil {
		t.Fatalf("docker inspect %s: %v\n%s", container, err, out)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Errorf("docker inspect %s shows a secret handed out (%d chars)", container, len(s))
		}
	}
}

func unbind(t testing.TB, h *harness, id, bindingID, service, plan string) {
	t.Helper()
	status, body := h.do("DELETE", "/v2/service_instances/"+id+"/service_bindings/"+bindingID+"?service_id="+service+"&plan_id="+plan, nil)
	if status != http.StatusOK {
		t.Fatalf("unbind %s: %d %s", bindingID, status, body)
	}
}

// mustOpen connects with a binding's credentials, which work as soon as the bind is answered.
// Only a connection that timed out is tried again (twice): the whole suite loads the machine,
// and a server that answers late has not refused the credentials.
func mustOpen(t *testing.T, o offering, c creds) session {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, err := o.open(context.Background(), c)
		if err == nil {
			return s
		}
		if attempt == 3 || !strings.Contains(err.Error(), "timeout") {
			t.Fatalf("connecting as a binding's user (attempt %d): %v", attempt, err)
		}
		t.Logf("connecting as a binding's user timed out, trying again: %v", err)
	}
}

// reopen connects once the service answers again, within a minute.
func reopen(t *testing.T, o offering, c creds, when string) session {
	t.Helper()
	var s session
	var err error
	if !eventually(time.Minute, func() bool { s, err = o.open(context.Background(), c); return err == nil }) {
		t.Fatalf("the binding's user cannot connect %s: %v", when, err)
	}
	return s
}

func mustWrite(t *testing.T, s session, key, value string) {
	t.Helper()
	if err := s.write(context.Background(), key, value); err != nil {
		t.Fatalf("writing %s: %v", key, err)
	}
}

func mustRead(t *testing.T, s session, key, want string) {
	t.Helper()
	if got, err := s.read(context.Background(), key); err != nil || got != want {
		t.Fatalf("reading %s: %q %v, want %q", key, got, err, want)
	}
}

func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// PostgreSQL: a table of keys and values.
type pgSession struct{ conn *pgx.Conn }

func openPostgres(ctx context.Context, c creds) (session, error) {
	conn, err := pgx.Connect(ctx, c.URI)
	if err != nil {
		return nil, err
	}
	return pgSession{conn}, nil
}

func (s pgSession) write(ctx context.Context, key, value string) error {
	_, err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text)")
	if err == nil {
		_, err = s.conn.Exec(ctx, "INSERT INTO kv VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2", key, value)
	}
	return err
}

func (s pgSession) read(ctx context.Context, key string) (v string, err error) {
	err = s.conn.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", key).Scan(&v)
	return v, err
}

func (s pgSession) alive(ctx context.Context) error { return s.conn.Ping(ctx) }
func (s pgSession) admin(ctx context.Context) error {
	_, err := s.conn.Exec(ctx, "CREATE ROLE intruder LOGIN SUPERUSER")
	return err
}
func (s pgSession) close() { s.conn.Close(context.Background()) }

// PostGIS: PostgreSQL's table of keys and values, and beside it each key's point, a geometry
// made from text and read back as text: the extension is there for a binding's user.
type postgisSession struct{ pgSession }

func openPostGIS(ctx context.Context, c creds) (session, error) {
	s, err := openPostgres(ctx, c)
	if err != nil {
		return nil, err
	}
	return postgisSession{s.(pgSession)}, nil
}

// pointOf is the point stored with key, a different one for every key.
func pointOf(key string) string {
	x := 0
	for _, b := range []byte(key) {
		x = 31*x + int(b)
	}
	return fmt.Sprintf("POINT(%d 47.5)", x)
}

func (s postgisSession) write(ctx context.Context, key, value string) error {
	if err := s.pgSession.write(ctx, key, value); err != nil {
		return err
	}
	_, err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS places (k text PRIMARY KEY, g geometry)")
	if err == nil {
		_, err = s.conn.Exec(ctx, "INSERT INTO places VALUES ($1, ST_GeomFromText($2)) ON CONFLICT (k) DO UPDATE SET g = EXCLUDED.g", key, pointOf(key))
	}
	return err
}

func (s postgisSession) read(ctx context.Context, key string) (string, error) {
	var wkt string
	if err := s.conn.QueryRow(ctx, "SELECT ST_AsText(g) FROM places WHERE k = $1", key).Scan(&wkt); err != nil {
		return "", err
	}
	if want := pointOf(key); wkt != want {
		return "", fmt.Errorf("the geometry of %s reads %s, want %s", key, wkt, want)
	}
	return s.pgSession.read(ctx, key)
}

// MySQL: a table of keys and values, on one connection of the pool.
type mysqlSession struct {
	db   *sql.DB
	conn *sql.Conn
}

func openMySQL(ctx context.Context, c creds) (session, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = c.Username, c.Password, "tcp", net.JoinHostPort(c.Host, c.Port), c.DBName
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return mysqlSession{db, conn}, nil
}

func (s mysqlSession) write(ctx context.Context, key, value string) error {
	_, err := s.conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS kv (k varchar(64) PRIMARY KEY, v text)")
	if err == nil {
		_, err = s.conn.ExecContext(ctx, "REPLACE INTO kv VALUES (?, ?)", key, value)
	}
	return err
}

func (s mysqlSession) read(ctx context.Context, key string) (v string, err error) {
	err = s.conn.QueryRowContext(ctx, "SELECT v FROM kv WHERE k = ?", key).Scan(&v)
	return v, err
}

func (s mysqlSession) alive(ctx context.Context) error { return s.conn.PingContext(ctx) }
func (s mysqlSession) admin(ctx context.Context) error {
	_, err := s.conn.ExecContext(ctx, "CREATE USER 'intruder'@'%' IDENTIFIED BY 'intruder'")
	return err
}
func (s mysqlSession) close() { s.conn.Close(); s.db.Close() }

// Redis: keys, on one connection that does not reconnect by itself.
type redisSession struct {
	client *redis.Client
	conn   *redis.Conn
}

func openRedis(ctx context.Context, c creds) (session, error) {
	opts, err := redis.ParseURL(c.URI)
	if err != nil {
		return nil, err
	}
	opts.MaxRetries = -1
	client := redis.NewClient(opts)
	conn := client.Conn()
	if err := conn.Ping(ctx).Err(); err != nil {
		conn.Close()
		client.Close()
		return nil, err
	}
	return redisSession{client, conn}, nil
}

func (s redisSession) write(ctx context.Context, key, value string) error {
	return s.conn.Set(ctx, key, value, 0).Err()
}

func (s redisSession) read(ctx context.Context, key string) (string, error) {
	return s.conn.Get(ctx, key).Result()
}

func (s redisSession) alive(ctx context.Context) error { return s.conn.Ping(ctx).Err() }
func (s redisSession) admin(ctx context.Context) error {
	if err := s.conn.ConfigGet(ctx, "requirepass").Err(); err != nil {
		return s.conn.FlushAll(ctx).Err()
	}
	return nil
}
func (s redisSession) close() { s.conn.Close(); s.client.Close() }

// RabbitMQ: a durable queue per key holding one persistent message, the value.
type amqpSession struct {
	conn *amqp.Connection
	uri  string
}

func openRabbitMQ(_ context.Context, c creds) (session, error) {
	conn, err := amqp.Dial(c.URI)
	if err != nil {
		return nil, err
	}
	return amqpSession{conn, c.URI}, nil
}

func (s amqpSession) write(ctx context.Context, key, value string) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(key, true, false, false, false, nil); err != nil {
		return err
	}
	return ch.PublishWithContext(ctx, "", key, false, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(value)})
}

// read takes the value and puts it back, so that it can be read again.
func (s amqpSession) read(_ context.Context, key string) (string, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return "", err
	}
	defer ch.Close()
	msg, ok, err := ch.Get(key, false)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("queue %s is empty", key)
	}
	return string(msg.Body), msg.Nack(false, true)
}

func (s amqpSession) alive(context.Context) error {
	if s.conn.IsClosed() {
		return errors.New("connection closed")
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	return ch.Close()
}

func (s amqpSession) close() { s.conn.Close() }

// admin opens the broker's default vhost, which is not the instance's.
func (s amqpSession) admin(context.Context) error {
	u, err := amqp.ParseURI(s.uri)
	if err != nil {
		return err
	}
	u.Vhost = "/"
	conn, err := amqp.Dial(u.String())
	if err == nil {
		conn.Close()
	}
	return err
}

// InfluxDB 1: a measurement kv with one point per key (a tag), over the HTTP API. Every request
// authenticates: a session is the credentials.
type influxSession struct{ base, user, password, db string }

func openInfluxDB1(ctx context.Context, c creds) (session, error) {
	s := influxSession{"http://" + net.JoinHostPort(c.Host, c.Port), c.Username, c.Password, c.DBName}
	return s, s.alive(ctx)
}

// post sends body to path as the session's user and returns the answer's body; a status
// other than want, or an "error" in a query's result, is an error.
func (s influxSession) post(ctx context.Context, path, contentType, body string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.SetBasicAuth(s.user, s.password)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err == nil && (res.StatusCode != want || strings.Contains(string(answer), `"error"`)) {
		err = fmt.Errorf("%s: %d %s", path, res.StatusCode, answer)
	}
	return answer, err
}

func (s influxSession) query(ctx context.Context, q string) ([]byte, error) {
	form := url.Values{"q": {q}, "db": {s.db}}
	return s.post(ctx, "/query", "application/x-www-form-urlencoded", form.Encode(), http.StatusOK)
}

func (s influxSession) write(ctx context.Context, key, value string) error {
	line := fmt.Sprintf("kv,k=%s v=%s", key, strconv.Quote(value))
	_, err := s.post(ctx, "/write?db="+url.QueryEscape(s.db), "text/plain", line, http.StatusNoContent)
	return err
}

func (s influxSession) read(ctx context.Context, key string) (string, error) {
	answer, err := s.query(ctx, "SELECT last(v) FROM kv WHERE k = '"+key+"'")
	if err != nil {
		return "", err
	}
	var res struct {
		Results []struct {
			Series []struct{ Values [][]any }
		}
	}
	if err := json.Unmarshal(answer, &res); err != nil {
		return "", err
	}
	if len(res.Results) != 1 || len(res.Results[0].Series) != 1 || len(res.Results[0].Series[0].Values) != 1 {
		return "", fmt.Errorf("no value of %s: %s", key, answer)
	}
	v, _ := res.Results[0].Series[0].Values[0][1].(string)
	return v, nil
}

func (s influxSession) alive(ctx context.Context) error {
	_, err := s.query(ctx, "SHOW MEASUREMENTS")
	return err
}

func (s influxSession) admin(ctx context.Context) error {
	_, err := s.query(ctx, "CREATE USER intruder WITH PASSWORD 'intruder' WITH ALL PRIVILEGES")
	return err
}

func (influxSession) close() {}

// TestFailingCreateCommandLeavesNoUserAndNoRecord binds with a plan whose create command has
// bad SQL after it created the role, and to an instance whose container is stopped: both
// binds fail saying what happened, and leave no user and no binding behind.
func TestFailingCreateCommandLeavesNoUserAndNoRecord(t *testing.T) {
	services := brokertest.Services(t, "services/op-postgresql17.yml")
	var doc []map[string]any
	if err := json.Unmarshal(services, &doc); err != nil {
		t.Fatal(err)
	}
	plan := doc[0]["plans"].([]any)[0].(map[string]any)
	create := doc[0]["bindings"].(map[string]any)["create"].([]any)
	// The shipped script, then a statement the server refuses.
	create[len(create)-1] = create[len(create)-1].(string) + "\npsql -v ON_ERROR_STOP=1 --no-psqlrc -h /var/run/postgresql -U \"$INSTANCE_USERNAME\" -d \"$INSTANCE_DBNAME\" -c 'SELEKT 1'\n"
	services, _ = json.Marshal(doc)
	// Below TestEveryProvenOfferingWithItsRealClient's ranges, which grow with provenOfferings.
	h := startHarness(t, services, func(c *broker.Config) { c.PortRange = [2]int{21900, 21999} })
	service, planID := doc[0]["id"].(string), plan["id"].(string)
	const id = "bad-sql"
	h.provision(id, service, planID)
	ctx := context.Background()
	loginRoles := func() string {
		out, err := h.Docker.Shell(ctx, "cf-"+id, `psql -tA -h /var/run/postgresql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "SELECT count(*) FROM pg_roles WHERE rolcanlogin"`)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := loginRoles()
	status, body := h.do("PUT", "/v2/service_instances/"+id+"/service_bindings/b1", map[string]any{"service_id": service, "plan_id": planID})
	if status != http.StatusInternalServerError || !strings.Contains(string(body), "could not be created") || !strings.Contains(string(body), "exit status") {
		t.Errorf("bind with a failing create command: %d %s", status, body)
	}
	if after := loginRoles(); after != before {
		t.Errorf("login roles %s before the failed bind, %s after: the failed user was not dropped", before, after)
	}
	if status, _ := h.do("GET", "/v2/service_instances/"+id+"/service_bindings/b1", nil); status != http.StatusNotFound {
		t.Errorf("the failed binding: GET %d, want 404", status)
	}
	if !strings.Contains(h.Logs.String(), "SELEKT") {
		t.Error("the log lacks the failing command's output")
	}

	if err := h.Docker.Engine.StopContainer(ctx, "cf-"+id, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	status, body = h.do("PUT", "/v2/service_instances/"+id+"/service_bindings/b2", map[string]any{"service_id": service, "plan_id": planID})
	if status != http.StatusInternalServerError || !strings.Contains(string(body), "container is not running") {
		t.Errorf("bind to a stopped container: %d %s", status, body)
	}
	if _, found, _ := h.Store.Binding(id, "b2"); found {
		t.Error("a bind to a stopped container left its record")
	}
}
