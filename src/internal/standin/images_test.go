package standin_test

// Integration tests: the stand-in images run in the test binary's private dockerd (testenv)
// and answer real client libraries according to both of their contracts. They need root,
// dockerd, debootstrap and the Debian archive (for the first build; later runs use the cache).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	amqp "github.com/rabbitmq/amqp091-go"
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
	// stopExit is the exit code of a clean stop: 0 but for nats-server 2.9, which exits 1 on
	// SIGTERM once it has shut down cleanly.
	stopExit int
}

// start runs a container of the recipe's image (spec.Image may name another of its tags)
// with every port the image exposes published on 127.0.0.1.
func start(t *testing.T, recipe standin.Recipe, spec dockerengine.ContainerSpec) *service {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping a stand-in image test in -short mode")
	}
	d := testenv.Docker(t)
	image := d.Standin(t, recipe)
	if spec.Image == "" {
		spec.Image = image
	}
	spec.Ports = nil
	for _, p := range recipe.ExposedPorts {
		spec.Ports = append(spec.Ports, dockerengine.PortMapping{ContainerPort: p, HostIP: "127.0.0.1"})
	}
	s := &service{t: t, d: d, spec: spec, port: recipe.ExposedPorts[0]}
	s.c = d.Run(t, spec)
	return s
}

// addr is where the image's first exposed port is published, addrOf another one's.
func (s *service) addr() string              { return testenv.HostPort(s.t, s.c, s.port) }
func (s *service) addrOf(port string) string { return testenv.HostPort(s.t, s.c, port) }

// exec runs cmd in the container, with env added to its environment, and returns its exit
// code and output.
func (s *service) exec(cmd []string, env ...string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := s.d.Engine.CreateExec(ctx, s.c.ID, dockerengine.Exec{Cmd: cmd, Env: env})
	if err != nil {
		s.t.Fatal(err)
	}
	res, err := s.d.Engine.StartExec(ctx, id)
	if err != nil {
		s.t.Fatal(err)
	}
	return res.ExitCode, string(res.Output)
}

// exited waits for the container to stop by itself and returns its exit code.
func (s *service) exited() int {
	s.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := s.d.Engine.InspectContainer(context.Background(), s.c.ID)
		if err != nil {
			s.t.Fatal(err)
		}
		if !c.Running {
			return c.ExitCode
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the container still runs after %v\n%s", readyTimeout, s.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkRefused runs a container that must refuse its configuration: it exits non-zero at
// once, saying why (want, in its logs).
func checkRefused(t *testing.T, recipe standin.Recipe, spec dockerengine.ContainerSpec, want string) {
	t.Helper()
	s := start(t, recipe, spec)
	if code := s.exited(); code == 0 {
		t.Errorf("exit code 0, want a refusal\n%s", s.logs())
	}
	if logs := s.logs(); !strings.Contains(logs, want) {
		t.Errorf("the logs do not say %q:\n%s", want, logs)
	}
}

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
	if stopped.ExitCode != s.stopExit {
		s.t.Errorf("the server exited with %d on stop, want a clean shutdown (%d)\n%s", stopped.ExitCode, s.stopExit, s.logs())
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

// secretsDir writes files as the broker writes a plan's secrets (0600, owned by root, the
// test's user) into a directory to mount read-only at /run/secrets.
func secretsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
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

// The broker passes secrets as files (credentials as_file): POSTGRES_*_FILE, read as root
// from 0600 root-owned files, as the official postgres:17 image does.
func TestPostgreSQLFileVariants(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{
		"username": "file_user", "password": "file pw'\"$1\n", "dbname": "file_db", // a trailing newline is not part of the value
	})
	s := start(t, standin.PostgreSQL, dockerengine.ContainerSpec{
		Image: "postgres:17",
		Env: []string{
			"POSTGRES_USER_FILE=/run/secrets/username",
			"POSTGRES_PASSWORD_FILE=/run/secrets/password",
			"POSTGRES_DB_FILE=/run/secrets/dbname",
		},
		Binds: []string{secrets + ":/run/secrets:ro"},
	})
	s.waitFor("postgres accepting file_user", func(ctx context.Context) error {
		conn, err := pgConnect(ctx, s.addr(), "file_user", "file pw'\"$1", "file_db")
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
}

// postgres:18 keeps its cluster in /var/lib/postgresql/18/docker (its PGDATA) under its volume
// /var/lib/postgresql: the stand-in takes that PGDATA below a volume at /var/lib/postgresql.
func TestPostgreSQL18Layout(t *testing.T) {
	t.Parallel()
	dir := hostDir(t)
	s := start(t, standin.PostgreSQL, dockerengine.ContainerSpec{
		Image: "postgres:18",
		Env:   []string{"PGDATA=/var/lib/postgresql/18/docker", "POSTGRES_PASSWORD=pw"},
		Binds: []string{dir + ":/var/lib/postgresql"},
	})
	s.waitFor("postgres accepting postgres", func(ctx context.Context) error {
		conn, err := pgConnect(ctx, s.addr(), "postgres", "pw", "postgres")
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if _, err := os.Stat(filepath.Join(dir, "18", "docker", "PG_VERSION")); err != nil {
		t.Errorf("the cluster is not in 18/docker of the volume: %v", err)
	}
}

// postgis/postgis:17-3.5: postgres:17's contract, and its init script has created PostGIS in
// POSTGRES_DB, where the user's geometries round-trip through their text form.
func TestPostGISCreatesTheExtensionInTheDatabase(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{"password": "gis pw'\"$1"})
	s := start(t, standin.PostGIS, dockerengine.ContainerSpec{
		Env:   []string{"POSTGRES_USER=gis", "POSTGRES_PASSWORD_FILE=/run/secrets/password", "POSTGRES_DB=places"},
		Binds: []string{secrets + ":/run/secrets:ro", hostDir(t) + ":/var/lib/postgresql/data"},
	})
	var conn *pgx.Conn
	s.waitFor("postgres accepting gis", func(ctx context.Context) (err error) {
		conn, err = pgConnect(ctx, s.addr(), "gis", "gis pw'\"$1", "places")
		return err
	})
	ctx := context.Background()
	defer conn.Close(ctx)
	for _, ext := range []string{"postgis", "postgis_topology"} {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_extension WHERE extname = $1", ext).Scan(&n); err != nil || n != 1 {
			t.Errorf("extension %s in the database: %d, %v", ext, n, err)
		}
	}
	var wkt string
	var distance float64
	err := conn.QueryRow(ctx, "SELECT ST_AsText(ST_GeomFromText('LINESTRING(0 0,3 4)')), ST_Length(ST_GeomFromText('LINESTRING(0 0,3 4)'))").Scan(&wkt, &distance)
	if err != nil || wkt != "LINESTRING(0 0,3 4)" || distance != 5 {
		t.Errorf("a geometry's round trip: %q, length %v, %v", wkt, distance, err)
	}
	// What postgis-3.so links against is all there (PROJ with its database): a transformation.
	if err := conn.QueryRow(ctx, "SELECT ST_AsText(ST_SnapToGrid(ST_Transform(ST_SetSRID(ST_MakePoint(0, 0), 4326), 3857), 1))").Scan(&wkt); err != nil || wkt != "POINT(0 0)" {
		t.Errorf("ST_Transform: %q, %v", wkt, err)
	}
}

func TestPostgreSQLRefusesAVariableAndItsFile(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{"password": "pw"})
	checkRefused(t, standin.PostgreSQL, dockerengine.ContainerSpec{
		Env:   []string{"POSTGRES_PASSWORD=pw", "POSTGRES_PASSWORD_FILE=/run/secrets/password"},
		Binds: []string{secrets + ":/run/secrets:ro"},
	}, "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set")
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
	// As in frodenas/mysql:5.6, the user administers the server: it makes users of its own
	// (the broker's bindings of the legacy plan do).
	conn, err := mysqlOpen(s.addr(), "legacy", "legacy-pw", "legacy-db")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"CREATE USER 'b1'@'%' IDENTIFIED BY 'b1-pw'",
		"GRANT ALL PRIVILEGES ON `legacy-db`.* TO 'b1'@'%'",
		"CREATE DATABASE other",
	} {
		if _, err := conn.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := mysqlPing(context.Background(), s.addr(), "b1", "b1-pw", "legacy-db"); err != nil {
		t.Errorf("the user the legacy user made: %v", err)
	}
}

// The upstream user has its database and nothing else: it cannot make users.
func TestMariaDBUpstreamUserIsNoAdministrator(t *testing.T) {
	t.Parallel()
	s := start(t, standin.MariaDB, dockerengine.ContainerSpec{
		Env: []string{"MYSQL_ROOT_PASSWORD=root-pw", "MYSQL_USER=app", "MYSQL_PASSWORD=app-pw", "MYSQL_DATABASE=appdb"},
	})
	s.waitFor("mariadb accepting app", func(ctx context.Context) error {
		return mysqlPing(ctx, s.addr(), "app", "app-pw", "appdb")
	})
	conn, err := mysqlOpen(s.addr(), "app", "app-pw", "appdb")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "CREATE USER 'b1'@'%' IDENTIFIED BY 'b1-pw'")
	var myErr *mysql.MySQLError
	if !errors.As(err, &myErr) || myErr.Number != 1227 {
		t.Errorf("CREATE USER as the upstream user: %v, want access denied (1227)", err)
	}
}

// MYSQL_*_FILE and MARIADB_*_FILE, read as root from 0600 root-owned files, as the official
// mysql:8.4 and mariadb images do.
func TestMariaDBFileVariants(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{
		"root": "root file pw", "username": "file_user", "password": "file pw'\\\"$1", "dbname": "file_db",
	})
	s := start(t, standin.MariaDB, dockerengine.ContainerSpec{
		Image: "mysql:8.4",
		Env: []string{
			"MARIADB_ROOT_PASSWORD_FILE=/run/secrets/root",
			"MYSQL_USER_FILE=/run/secrets/username",
			"MYSQL_PASSWORD_FILE=/run/secrets/password",
			"MYSQL_DATABASE_FILE=/run/secrets/dbname",
		},
		Binds: []string{secrets + ":/run/secrets:ro"},
	})
	s.waitFor("mariadb accepting file_user", func(ctx context.Context) error {
		return mysqlPing(ctx, s.addr(), "file_user", "file pw'\\\"$1", "file_db")
	})
	if err := mysqlPing(context.Background(), s.addr(), "root", "root file pw", ""); err != nil {
		t.Errorf("root login with the password of MARIADB_ROOT_PASSWORD_FILE: %v", err)
	}
	if code, out := s.exec([]string{"mysql", "--version"}); code != 0 {
		t.Errorf("mysql --version: exit %d: %s", code, out)
	}
}

func TestMariaDBRefusesAVariableAndItsFile(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{"password": "pw"})
	checkRefused(t, standin.MariaDB, dockerengine.ContainerSpec{
		Env:   []string{"MYSQL_ROOT_PASSWORD=pw", "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/password"},
		Binds: []string{secrets + ":/run/secrets:ro"},
	}, "both MYSQL_ROOT_PASSWORD and MYSQL_ROOT_PASSWORD_FILE are set")
}

// --- RabbitMQ ------------------------------------------------------------------------------

// rabbitHostname is fixed, as the broker fixes it: the node's data directory is named after it.
const rabbitHostname = "rabbitmq"

func amqpURL(addr, user, password, vhost string) string {
	return "amqp://" + urlEscape(user) + ":" + urlEscape(password) + "@" + addr + "/" + urlEscape(vhost)
}

// amqpDial connects, giving up after a few seconds (the handshake included).
func amqpDial(addr, user, password, vhost string) (*amqp.Connection, error) {
	return amqp.DialConfig(amqpURL(addr, user, password, vhost), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
}

// rabbitConnect waits for the server to take a login of user, then returns its connection
// and a channel.
func rabbitConnect(s *service, user, password, vhost string) (*amqp.Connection, *amqp.Channel) {
	s.t.Helper()
	var conn *amqp.Connection
	s.waitFor("rabbitmq accepting "+user, func(context.Context) (err error) {
		conn, err = amqpDial(s.addr(), user, password, vhost)
		return err
	})
	ch, err := conn.Channel()
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn, ch
}

// getMessage gets one message from queue (acknowledged), failing the test if there is none.
func getMessage(t *testing.T, ch *amqp.Channel, queue string) string {
	t.Helper()
	m, ok, err := ch.Get(queue, false)
	if err != nil || !ok {
		t.Fatalf("get from %s: ok %v, %v", queue, ok, err)
	}
	if err := m.Ack(false); err != nil {
		t.Fatal(err)
	}
	return string(m.Body)
}

// managementStatus is the management API's answer to user's GET /api/whoami.
func managementStatus(t *testing.T, s *service, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addrOf("15672/tcp")+"/api/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// The upstream rabbitmq:4-management contract as the broker uses it: default user, password
// and vhost from the environment on the first start only, a fixed hostname, the data in
// /var/lib/rabbitmq, rabbitmqctl through docker exec.
func TestRabbitMQKeepsDataAcrossRecreate(t *testing.T) {
	t.Parallel()
	s := start(t, standin.RabbitMQ, dockerengine.ContainerSpec{
		Hostname: rabbitHostname,
		Env:      []string{"RABBITMQ_DEFAULT_USER=admin", "RABBITMQ_DEFAULT_PASS=admin pw'\"$1", "RABBITMQ_DEFAULT_VHOST=inst_vhost"},
		Binds:    []string{hostDir(t) + ":/var/lib/rabbitmq"},
	})
	conn, ch := rabbitConnect(s, "admin", "admin pw'\"$1", "inst_vhost")

	// Publish and consume.
	ctx := context.Background()
	if _, err := ch.QueueDeclare("kept", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first", "persistent"} {
		if err := ch.PublishWithContext(ctx, "", "kept", false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	deliveries, err := ch.Consume("kept", "c1", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-deliveries:
		if string(d.Body) != "first" {
			t.Errorf("consumed %q, want first", d.Body)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message consumed")
	}
	if err := ch.Cancel("c1", false); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	if code := managementStatus(t, s, "admin", "admin pw'\"$1"); code != http.StatusOK {
		t.Errorf("management API as the default user: %d, want 200", code)
	}
	// rabbitmqctl as root through docker exec (the Erlang cookie through HOME); the
	// password reaches it on stdin, from the exec's environment.
	if code, out := s.exec([]string{"sh", "-ec", `printf '%s' "$PW" | rabbitmqctl -q add_user extra
rabbitmqctl -q set_permissions -p inst_vhost extra '.*' '.*' '.*'`}, "PW=extra-pw"); code != 0 {
		t.Fatalf("adding a user with rabbitmqctl: exit %d: %s", code, out)
	}
	// Ready for clients: what the services file's health check runs.
	if code, out := s.exec([]string{"rabbitmq-diagnostics", "-q", "check_port_connectivity"}); code != 0 {
		t.Errorf("check_port_connectivity: exit %d: %s", code, out)
	}

	// Recreated (same hostname, same volume) with other credentials: the existing database
	// is used as it is.
	s.spec.Env = []string{"RABBITMQ_DEFAULT_USER=admin", "RABBITMQ_DEFAULT_PASS=ignored", "RABBITMQ_DEFAULT_VHOST=ignored"}
	s.recreate()
	_, ch = rabbitConnect(s, "admin", "admin pw'\"$1", "inst_vhost")
	if got := getMessage(t, ch, "kept"); got != "persistent" {
		t.Errorf("after recreate: %q in the durable queue, want persistent", got)
	}
	_, ch = rabbitConnect(s, "extra", "extra-pw", "inst_vhost")
	if _, err := ch.QueueDeclarePassive("kept", true, false, false, false, nil); err != nil {
		t.Errorf("the user added with rabbitmqctl after recreate: %v", err)
	}
	if _, err := amqpDial(s.addr(), "admin", "ignored", "inst_vhost"); err == nil {
		t.Error("the default password of the recreated container's environment was taken")
	}
	if code := managementStatus(t, s, "extra", "extra-pw"); code != http.StatusUnauthorized {
		t.Errorf("management API as a user without tags: %d, want 401", code)
	}
}

// RABBITMQ_DEFAULT_USER_FILE and RABBITMQ_DEFAULT_PASS_FILE: the stand-in's addition (the
// official image refuses them), read as root from 0600 root-owned files.
func TestRabbitMQFileVariants(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{"username": "file_user", "password": "file_pw\n"})
	s := start(t, standin.RabbitMQ, dockerengine.ContainerSpec{
		Hostname: rabbitHostname,
		Env: []string{
			"RABBITMQ_DEFAULT_USER_FILE=/run/secrets/username",
			"RABBITMQ_DEFAULT_PASS_FILE=/run/secrets/password",
		},
		Binds: []string{secrets + ":/run/secrets:ro"},
	})
	rabbitConnect(s, "file_user", "file_pw", "/")
}

func TestRabbitMQRefusesAVariableAndItsFile(t *testing.T) {
	t.Parallel()
	secrets := secretsDir(t, map[string]string{"password": "pw"})
	checkRefused(t, standin.RabbitMQ, dockerengine.ContainerSpec{
		Env:   []string{"RABBITMQ_DEFAULT_PASS=pw", "RABBITMQ_DEFAULT_PASS_FILE=/run/secrets/password"},
		Binds: []string{secrets + ":/run/secrets:ro"},
	}, "both RABBITMQ_DEFAULT_PASS and RABBITMQ_DEFAULT_PASS_FILE are set")
}

// A main config file that RABBITMQ_CONFIG_FILE names, as the broker writes it into the volume
// (0600, owned by root): the default password in no environment variable, beside the user
// name and vhost that are, and the memory the watermark is a share of set to the container's.
func TestRabbitMQConfigFile(t *testing.T) {
	t.Parallel()
	data := secretsDir(t, map[string]string{"rabbitmq.conf": "default_user = conf_user\ndefault_pass = conf_pw\ndefault_vhost = conf_vhost\ntotal_memory_available_override_value = 536870912\n"})
	s := start(t, standin.RabbitMQ, dockerengine.ContainerSpec{
		Hostname: rabbitHostname,
		Env:      []string{"RABBITMQ_CONFIG_FILE=/var/lib/rabbitmq/rabbitmq.conf", "RABBITMQ_DEFAULT_USER=conf_user", "RABBITMQ_DEFAULT_VHOST=conf_vhost"},
		Binds:    []string{data + ":/var/lib/rabbitmq"},
	})
	rabbitConnect(s, "conf_user", "conf_pw", "conf_vhost")
	if code, out := s.exec([]string{"rabbitmqctl", "-q", "eval", "vm_memory_monitor:get_total_memory()."}); code != 0 || strings.TrimSpace(out) != "536870912" {
		t.Errorf("total memory as the server sees it: exit %d: %q, want 536870912", code, out)
	}
}
