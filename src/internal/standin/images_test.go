package standin_test

// Integration tests: the stand-in images run in the test binary's private dockerd (testenv)
// and answer real client libraries according to both of their contracts. They need root,
// dockerd, debootstrap and the Debian archive (for the first build; later runs use the cache).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const readyTimeout = 90 * time.Second

// service is one container of a stand-in image, recreated on demand with the same settings.
type service struct {
	t    *testing.T
	d    *testenv.Dockerd
	spec dockerengine.ContainerSpec
	port string // "6379/tcp"
	c    dockerengine.Container
}

func start(t *testing.T, recipe standin.Recipe, spec dockerengine.ContainerSpec) *service {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping a stand-in image test in -short mode")
	}
	d := testenv.Docker(t)
	spec.Image = d.Standin(t, recipe)
	port := recipe.ExposedPorts[0]
	spec.Ports = []dockerengine.PortMapping{{ContainerPort: port, HostIP: "127.0.0.1"}}
	s := &service{t: t, d: d, spec: spec, port: port}
	s.c = d.Run(t, spec)
	return s
}

func (s *service) addr() string { return testenv.HostPort(s.t, s.c, s.port) }

// recreate stops (with the image's stop signal, as `docker stop` does) and removes the
// container, then runs a new one with the same spec (and so the same host directories).
func (s *service) recreate() {
	s.t.Helper()
	ctx := context.Background()
	if err := s.d.Engine.StopContainer(ctx, s.c.ID, 30*time.Second); err != nil {
		s.t.Fatal(err)
	}
	stopped, err := s.d.Engine.InspectContainer(ctx, s.c.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	if stopped.ExitCode != 0 {
		s.t.Errorf("the server exited with %d on stop, want a clean shutdown\n%s", stopped.ExitCode, s.logs())
	}
	if err := s.d.Engine.RemoveContainer(ctx, s.c.ID); err != nil {
		s.t.Fatal(err)
	}
	s.c = s.d.Run(s.t, s.spec)
}

// logs returns the container's output, read from the engine's json-file log.
func (s *service) logs() string {
	b, err := os.ReadFile(filepath.Join(s.d.Config.DataRoot, "containers", s.c.ID, s.c.ID+"-json.log"))
	if err != nil {
		return fmt.Sprintf("(no logs: %v)", err)
	}
	return string(b)
}

// waitFor retries try until it succeeds, failing the test (with the container's logs) after
// readyTimeout.
func (s *service) waitFor(what string, try func(ctx context.Context) error) {
	s.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := try(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %v\ncontainer logs:\n%s", what, err, s.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hostDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// --- Redis ---------------------------------------------------------------------------------

func redisClient(addr, password string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, Password: password, MaxRetries: -1, DialTimeout: 2 * time.Second})
}

// redisReady waits for the server to answer (NOAUTH counts: it is up), then checks that it
// answers to password and to nothing else.
func checkRedisPassword(s *service, password string) {
	s.t.Helper()
	s.waitFor("redis answering", func(ctx context.Context) error {
		c := redisClient(s.addr(), password)
		defer c.Close()
		return c.Ping(ctx).Err()
	})
	ctx := context.Background()
	for _, wrong := range []string{"", "wrong-" + password} {
		c := redisClient(s.addr(), wrong)
		err := c.Ping(ctx).Err()
		c.Close()
		if err == nil || !(strings.Contains(err.Error(), "NOAUTH") || strings.Contains(err.Error(), "WRONGPASS")) {
			s.t.Errorf("PING with password %q: %v, want NOAUTH or WRONGPASS", wrong, err)
		}
	}
}

func TestRedisUpstreamContract(t *testing.T) {
	t.Parallel()
	for name, cmd := range map[string][]string{
		"redis-server args": {"redis-server", "--requirepass", "up-pw-1"},
		"options only":      {"--requirepass", "up-pw-1"},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, standin.Redis, dockerengine.ContainerSpec{Cmd: cmd})
			checkRedisPassword(s, "up-pw-1")
		})
	}
}

func TestRedisLegacyContractKeepsDataAcrossRecreate(t *testing.T) {
	t.Parallel()
	s := start(t, standin.Redis, dockerengine.ContainerSpec{
		Env:   []string{"REDIS_PASSWORD=legacy pw;'\"$x"},
		Binds: []string{hostDir(t) + ":/data"},
	})
	checkRedisPassword(s, "legacy pw;'\"$x")
	ctx := context.Background()
	c := redisClient(s.addr(), "legacy pw;'\"$x")
	if err := c.Set(ctx, "k", "kept", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	s.recreate()
	checkRedisPassword(s, "legacy pw;'\"$x")
	c = redisClient(s.addr(), "legacy pw;'\"$x")
	defer c.Close()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "kept" {
		t.Fatalf("after recreate: GET k = %q, %v; want kept", v, err)
	}
}

// --- PostgreSQL ----------------------------------------------------------------------------

func pgURL(addr, user, password, db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable&connect_timeout=3",
		urlEscape(user), urlEscape(password), addr, urlEscape(db))
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func pgConnect(ctx context.Context, addr, user, password, db string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, pgURL(addr, user, password, db))
}

func testPostgreSQL(t *testing.T, env []string, dataDir, user, password, db string) {
	dir := hostDir(t)
	s := start(t, standin.PostgreSQL, dockerengine.ContainerSpec{Env: env, Binds: []string{dir + ":" + dataDir}})
	var conn *pgx.Conn
	s.waitFor("postgres accepting "+user, func(ctx context.Context) (err error) {
		conn, err = pgConnect(ctx, s.addr(), user, password, db)
		return err
	})
	ctx := context.Background()
	var gotUser, gotDB string
	if err := conn.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&gotUser, &gotDB); err != nil {
		t.Fatal(err)
	}
	if gotUser != user || gotDB != db {
		t.Errorf("logged in as %s to %s, want %s to %s", gotUser, gotDB, user, db)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		t.Errorf("the cluster is not in the host directory mounted at %s: %v", dataDir, err)
	}

	_, err := pgConnect(ctx, s.addr(), user, "wrong-"+password, db)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Errorf("login with a wrong password: %v, want invalid_password (28P01)", err)
	}

	// Recreated with other credentials: the existing cluster is used as it is.
	s.spec.Env = append(append([]string{}, env...), "POSTGRES_PASSWORD=ignored", "POSTGRES_USER=ignored", "POSTGRES_USERNAME=ignored")
	s.recreate()
	s.waitFor("postgres accepting "+user+" after recreate", func(ctx context.Context) (err error) {
		conn, err = pgConnect(ctx, s.addr(), user, password, db)
		return err
	})
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after recreate: %q, %v; want kept", v, err)
	}
}

func TestPostgreSQLUpstreamContract(t *testing.T) {
	t.Parallel()
	testPostgreSQL(t, []string{"POSTGRES_USER=app", "POSTGRES_PASSWORD=up pw'\"$1", "POSTGRES_DB=appdb"},
		"/var/lib/postgresql/data", "app", "up pw'\"$1", "appdb")
}

func TestPostgreSQLLegacyContract(t *testing.T) {
	t.Parallel()
	testPostgreSQL(t, []string{"POSTGRES_USERNAME=legacy", "POSTGRES_PASSWORD=legacy-pw", "POSTGRES_DBNAME=legacy-db"},
		"/data", "legacy", "legacy-pw", "legacy-db")
}

func TestPostgreSQLDefaults(t *testing.T) {
	t.Parallel()
	// No volume, only a password: user and database postgres, data in the image's default place.
	s := start(t, standin.PostgreSQL, dockerengine.ContainerSpec{Env: []string{"POSTGRES_PASSWORD=pw"}})
	s.waitFor("postgres accepting postgres", func(ctx context.Context) error {
		conn, err := pgConnect(ctx, s.addr(), "postgres", "pw", "postgres")
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var dir string
		if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
			return err
		}
		if dir != "/var/lib/postgresql/data" {
			t.Errorf("data directory %s, want /var/lib/postgresql/data", dir)
		}
		return nil
	})
}

// --- MariaDB -------------------------------------------------------------------------------

func mysqlOpen(addr, user, password, db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", addr, user, password, db
	cfg.Timeout = 3 * time.Second
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

func mysqlPing(ctx context.Context, addr, user, password, db string) error {
	conn, err := mysqlOpen(addr, user, password, db)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.PingContext(ctx)
}

func testMariaDB(t *testing.T, env []string, dataDir, user, password, db string) *service {
	dir := hostDir(t)
	s := start(t, standin.MariaDB, dockerengine.ContainerSpec{Env: env, Binds: []string{dir + ":" + dataDir}})
	s.waitFor("mariadb accepting "+user, func(ctx context.Context) error {
		return mysqlPing(ctx, s.addr(), user, password, db)
	})
	ctx := context.Background()
	conn, err := mysqlOpen(s.addr(), user, password, db)
	if err != nil {
		t.Fatal(err)
	}
	var gotUser, gotDB string
	if err := conn.QueryRowContext(ctx, "SELECT current_user(), database()").Scan(&gotUser, &gotDB); err != nil {
		t.Fatal(err)
	}
	if gotUser != user+"@%" || gotDB != db {
		t.Errorf("logged in as %s to %s, want %s@%% to %s", gotUser, gotDB, user, db)
	}
	for _, q := range []string{"CREATE TABLE t (v varchar(10))", "INSERT INTO t VALUES ('kept')"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if _, err := os.Stat(filepath.Join(dir, "mysql")); err != nil {
		t.Errorf("the data is not in the host directory mounted at %s: %v", dataDir, err)
	}

	err = mysqlPing(ctx, s.addr(), user, "wrong-"+password, db)
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) || myErr.Number != 1045 {
		t.Errorf("login with a wrong password: %v, want access denied (1045)", err)
	}

	// Recreated with other credentials: the existing data is used as it is.
	s.spec.Env = append(append([]string{}, env...), "MYSQL_PASSWORD=ignored", "MYSQL_USER=ignored", "MYSQL_USERNAME=ignored")
	s.recreate()
	s.waitFor("mariadb accepting "+user+" after recreate", func(ctx context.Context) error {
		return mysqlPing(ctx, s.addr(), user, password, db)
	})
	conn, err = mysqlOpen(s.addr(), user, password, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var v string
	if err := conn.QueryRowContext(ctx, "SELECT v FROM t").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after recreate: %q, %v; want kept", v, err)
	}
	return s
}

func TestMariaDBUpstreamContract(t *testing.T) {
	t.Parallel()
	s := testMariaDB(t, []string{"MYSQL_ROOT_PASSWORD=root pw", "MYSQL_USER=app", "MYSQL_PASSWORD=up pw'\\\"$1", "MYSQL_DATABASE=appdb"},
		"/var/lib/mysql", "app", "up pw'\\\"$1", "appdb")
	if err := mysqlPing(context.Background(), s.addr(), "root", "root pw", ""); err != nil {
		t.Errorf("root login with MYSQL_ROOT_PASSWORD: %v", err)
	}
}

func TestMariaDBLegacyContract(t *testing.T) {
	t.Parallel()
	s := testMariaDB(t, []string{"MYSQL_USERNAME=legacy", "MYSQL_PASSWORD=legacy-pw", "MYSQL_DBNAME=legacy-db"},
		"/data", "legacy", "legacy-pw", "legacy-db")
	// Without a root password option, root has no network login.
	if err := mysqlPing(context.Background(), s.addr(), "root", "", ""); err == nil {
		t.Error("root logs in over the network without a password")
	}
}
