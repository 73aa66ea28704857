package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// TestBackupAndRestoreOnASwarm runs the job's BBR steps (`docker-broker bbr ...`) against the
// broker on a swarm of two docker VMs: a redis32 instance (its volumes archived while its
// container is stopped) and a postgresql17 one (pg_dumpall in its container), one of them on
// the VM the broker does not run on. After their data changed, the restore brings back on each
// instance's own node what the backup saved, and the bindings' credentials work again.
func TestBackupAndRestoreOnASwarm(t *testing.T) {
	s := testenv.StartSwarm(t, testenv.SwarmOptions{Nodes: 2, Managers: 1, Prefix: "sbr"})
	p := startSwarmBroker(t, s, 0)
	defer func() {
		if t.Failed() {
			p.stop(syscall.SIGTERM) // its log is complete, and no longer written, once it has exited
			t.Logf("the broker's log:\n%s", p.log)
		}
	}()
	f := &swarmFleet{t: t, s: s, p: p, nodeOf: map[string]*testenv.SwarmNode{}}
	const redisID, pgID = "sbr-redis", "sbr-pg"
	p.provisionAll(t, redisService, redisFree, []string{redisID})
	p.provisionAll(t, postgresService, postgresSmall, []string{pgID})
	if redisNode, pgNode := f.node(t, redisID), f.node(t, pgID); redisNode.Index == 0 && pgNode.Index == 0 {
		t.Fatal("both instances went to the broker's node: the test needs one on the other node")
	}
	ctx := t.Context()
	cache, db := f.redis(t, redisID, "b1"), f.postgres(t, pgID, "b1")
	if err := cache.Set(ctx, "owner", "backed up", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('backed up')"); err != nil {
		t.Fatal(err)
	}

	artifacts := t.TempDir()
	f.bbr(t, "lock")
	f.bbr(t, "backup", artifacts)
	f.bbr(t, "unlock")
	for _, name := range []string{"state.db", "instances/" + redisID + ".tar", "instances/" + pgID + ".dump"} {
		if _, err := os.Stat(filepath.Join(artifacts, name)); err != nil {
			t.Errorf("the backup lacks %s: %v", name, err)
		}
	}
	if err := cache.Set(ctx, "owner", "changed since", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, "UPDATE kept SET v = 'changed since'"); err != nil {
		t.Fatal(err)
	}
	db.Close(ctx)

	f.bbr(t, "lock")
	f.bbr(t, "restore", artifacts)
	f.bbr(t, "unlock")
	if got, err := eventually(t, func() (string, error) { return cache.Get(ctx, "owner").Result() }); err != nil || got != "backed up" {
		t.Errorf("redis on node %d after the restore: %q, %v; want what the backup saved", f.nodeOf[redisID].Index, got, err)
	}
	var v string
	if err := f.postgres(t, pgID, "b1").QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != "backed up" {
		t.Errorf("postgres on node %d after the restore, as the binding's user: %q, %v; want what the backup saved", f.nodeOf[pgID].Index, v, err)
	}
}

// bbr runs `docker-broker bbr step FILE [args]` as the job's BBR scripts do.
func (f *swarmFleet) bbr(t testing.TB, step string, args ...string) {
	t.Helper()
	out, err := exec.Command(f.p.binary, append([]string{"bbr", step, f.p.config}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker-broker bbr %s: %v\n%s", step, err, out)
	}
}
