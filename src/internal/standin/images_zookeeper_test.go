package standin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// zkConnect opens a ZooKeeper session at addr, or fails within ctx (the client itself retries a
// server that does not answer for ever).
func zkConnect(ctx context.Context, addr string) (*zk.Conn, error) {
	conn, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(zkQuiet{}))
	if err != nil {
		return nil, err
	}
	for {
		select {
		case e := <-events:
			if e.State == zk.StateHasSession {
				return conn, nil
			}
		case <-ctx.Done():
			conn.Close()
			return nil, errors.New("no ZooKeeper session: " + ctx.Err().Error())
		}
	}
}

// zkNoError is what an admin server command answers when it worked.
var zkNoError = regexp.MustCompile(`"error"\s*:\s*null`)

// zkQuiet drops the client's log of every connection attempt.
type zkQuiet struct{}

func (zkQuiet) Printf(string, ...any) {}

// The contract of zookeeper:3.9 as the broker uses it: /docker-entrypoint.sh writes zoo.cfg
// from the ZOO_* variables when /conf has none (it is no volume: a new container's variables
// apply) and myid, zkServer.sh start-foreground runs as user zookeeper with snapshots in
// /data and transaction logs in /datalog, both on volumes; zkCli.sh and nc are there.
func TestZooKeeperKeepsDataAcrossRecreate(t *testing.T) {
	t.Parallel()
	data, datalog := hostDir(t), hostDir(t)
	env := []string{
		// The server id must be one of ZOO_SERVERS (default server.1): its client port is
		// the server's.
		"ZOO_MY_ID=7", "ZOO_SERVERS=server.7=localhost:2888:3888;2181",
		"ZOO_4LW_COMMANDS_WHITELIST=srvr,conf",
		"ZOO_CFG_EXTRA=maxSessionTimeout=50000", "ZK_SERVER_HEAP=128",
	}
	s := start(t, standin.ZooKeeper, dockerengine.ContainerSpec{
		// As the broker's command runs it: a shell running the image's entrypoint by its path.
		Cmd:   []string{"bash", "-ec", "exec /docker-entrypoint.sh zkServer.sh start-foreground"},
		Env:   append(slices.Clone(env), "ZOO_TICK_TIME=3000", "ZOO_ADMINSERVER_ENABLED=false"),
		Binds: []string{data + ":/data", datalog + ":/datalog"},
	})
	// Java exits 128+SIGTERM once its shutdown hooks (ZooKeeper's clean shutdown) have run,
	// in the official image too.
	s.stopExit = 143
	var conn *zk.Conn
	s.waitFor("zookeeper taking a session", func(ctx context.Context) (err error) {
		conn, err = zkConnect(ctx, s.addr())
		return err
	})
	if _, err := conn.Create("/k", []byte("kept"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	if user := s.userOfPID1(); user != "zookeeper" {
		t.Errorf("the server runs as %q, want zookeeper", user)
	}
	// conf shows the configuration the server runs with. printf, not echo: the server closes
	// the connection after the answer, and a newline it did not read makes that a reset,
	// which loses the answer about one time in eight.
	code, out := s.exec([]string{"bash", "-c", "printf conf | nc 127.0.0.1 2181"})
	for _, want := range []string{"tickTime=3000", "clientPort=2181", "maxSessionTimeout=50000", "dataDir=/data/version-2", "dataLogDir=/datalog/version-2"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("conf: exit %d, want %s in\n%s", code, want, out)
		}
	}
	if code, out := s.exec([]string{"bash", "-c", "printf srvr | nc 127.0.0.1 2181"}); code != 0 || !strings.Contains(out, "Mode: standalone") {
		t.Errorf("srvr: exit %d: %s", code, out)
	}
	if code, out := s.exec([]string{"zkCli.sh", "-server", "127.0.0.1:2181", "get", "/k"}); code != 0 || !strings.Contains(out, "kept") {
		t.Errorf("zkCli.sh get /k: exit %d: %s", code, out)
	}
	// A standalone server has no id of its own (conf says 0): myid is for an ensemble.
	if id, err := os.ReadFile(filepath.Join(data, "myid")); err != nil || string(id) != "7\n" {
		t.Errorf("myid: %q %v, want ZOO_MY_ID", id, err)
	}
	for _, p := range []string{filepath.Join(data, "version-2"), filepath.Join(datalog, "version-2")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not on the volumes: %v", err)
		}
	}

	// A new container with other variables keeps the data and configures itself again: the
	// image's defaults, the admin server on, and another tick.
	s.spec.Env = append(slices.Clone(env), "ZOO_TICK_TIME=4000")
	s.recreate()
	s.waitFor("zookeeper answering after recreate", func(ctx context.Context) (err error) {
		conn, err = zkConnect(ctx, s.addr())
		return err
	})
	defer conn.Close()
	if v, _, err := conn.Get("/k"); err != nil || string(v) != "kept" {
		t.Errorf("after recreate: %q %v, want kept", v, err)
	}
	if code, out := s.exec([]string{"bash", "-c", "printf conf | nc 127.0.0.1 2181"}); code != 0 || !strings.Contains(out, "tickTime=4000") {
		t.Errorf("a new container's ZOO_TICK_TIME is not used: exit %d:\n%s", code, out)
	}
	s.waitFor("the admin server answering ruok", func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.addrOf("8080/tcp")+"/commands/ruok", nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err == nil && (res.StatusCode != http.StatusOK || !zkNoError.Match(body)) {
			err = fmt.Errorf("ruok: %d %s", res.StatusCode, body)
		}
		return err
	})
}
