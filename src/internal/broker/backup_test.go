package broker

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

func TestLockRefusesChangesAndWaitsForRunningOperations(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("ready", svcRedis, planFree, "")
	if _, err := e.bind("ready", "b1", planFree, "app"); err != nil {
		t.Fatal(err)
	}
	e.engine.startGate = make(chan struct{})
	if _, err := e.provision(provisionReq("running", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	locked := make(chan error, 1)
	go func() { locked <- e.b.Lock(context.Background()) }()

	isLocked := func() bool {
		e.b.mu.Lock()
		defer e.b.mu.Unlock()
		return e.b.locked
	}
	for !isLocked() {
		time.Sleep(time.Millisecond) // until Lock has taken the lock
	}
	select {
	case err := <-locked:
		t.Fatalf("Lock returned (%v) while a provision runs", err)
	default:
	}
	_, err := e.provision(provisionReq("new", svcRedis, planFree, true))
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError, "backed up or restored")
	_, err = e.bind("ready", "b2", planFree, "app")
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	_, err = e.update("ready", planTiny, "", true)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	_, err = e.deprovision("ready", true)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	err = e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "ready", BindingID: "b1", ServiceID: svcRedis, PlanID: planFree})
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	if lo := e.lastOp("ready"); lo.State != store.Succeeded {
		t.Errorf("a refused change changed the instance: %+v", lo)
	}

	close(e.engine.startGate)
	if err := <-locked; err != nil {
		t.Fatal(err)
	}
	if lo := e.lastOp("running"); lo.State != store.Succeeded {
		t.Errorf("Lock returned with the provision %s: it must wait for it", lo.State)
	}
	if err := e.b.Unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mustProvision("new", svcRedis, planFree, "")
}

func TestBackupAndRestoreNeedTheLock(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planFree, "")
	ctx := context.Background()
	_, err := e.b.BackupInstances(ctx)
	wantError(t, err, http.StatusConflict, "", "lock it first")
	_, _, err = e.b.BackupInstance(ctx, "i1")
	wantError(t, err, http.StatusConflict, "", "lock it first")
	err = e.b.BackupState(ctx, io.Discard)
	wantError(t, err, http.StatusConflict, "", "lock it first")
	_, err = e.b.RestoreState(ctx, strings.NewReader(""))
	wantError(t, err, http.StatusConflict, "", "lock it first")
	err = e.b.RestoreInstance(ctx, "i1", FormatVolumes, strings.NewReader(""))
	wantError(t, err, http.StatusConflict, "", "lock it first")
}

// withDumpBackup gives the PostgreSQL plan dump and restore commands.
func withDumpBackup(c *Config, _ *fakeEngine) {
	plan(c.Catalog, planPg).Backup = &catalog.Backup{
		Dump:    []string{"pg_dumpall"},
		Restore: []string{"psql"},
		Timeout: config.Duration(time.Minute),
	}
}

func TestADumpBackupStreamsThePlansCommandWithTheSecretsInItsEnvironmentOnly(t *testing.T) {
	e := newEnv(t, withDumpBackup)
	inst := e.mustProvision("pg", svcPostgres, planPg, "")
	var restored bytes.Buffer
	e.engine.streamFunc = func(_ context.Context, containerID string, x dockerengine.Exec, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error) {
		for _, arg := range x.Cmd {
			if strings.Contains(arg, inst.Credentials.Password) {
				t.Errorf("the password is in the command's argv: %q", x.Cmd)
			}
		}
		if !slices.Contains(x.Env, catalog.EnvInstancePassword+"="+inst.Credentials.Password) || !slices.Contains(x.Env, catalog.EnvInstanceUsername+"="+inst.Credentials.Username) {
			t.Errorf("the command's environment lacks the instance's credentials: %d entries", len(x.Env))
		}
		switch x.Cmd[0] {
		case "pg_dumpall":
			_, err := io.WriteString(stdout, "the dump of "+containerID)
			return dockerengine.ExecResult{}, err
		case "psql":
			_, err := io.Copy(&restored, stdin)
			return dockerengine.ExecResult{}, err
		}
		return dockerengine.ExecResult{ExitCode: 127}, nil
	}
	ctx := context.Background()
	if err := e.b.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	format, write, err := e.b.BackupInstance(ctx, "pg")
	if err != nil || format != FormatDump {
		t.Fatalf("backup of an instance of a plan with backup.dump: %q %v", format, err)
	}
	var dump bytes.Buffer
	if err := write(ctx, &dump); err != nil {
		t.Fatal(err)
	}
	if want := "the dump of " + e.container("pg").ID; dump.String() != want {
		t.Errorf("backup %q, want %q", dump.String(), want)
	}

	err = e.b.RestoreInstance(ctx, "pg", FormatVolumes, strings.NewReader("a tar"))
	wantError(t, err, http.StatusBadRequest, "", "the services file changed since the backup")
	if err := e.b.RestoreInstance(ctx, "pg", FormatDump, bytes.NewReader(dump.Bytes())); err != nil {
		t.Fatal(err)
	}
	if restored.String() != dump.String() {
		t.Errorf("restore fed %q to the restore command, want the dump", restored.String())
	}
	if got := e.instance("pg"); got.Ports["5432/tcp"] != inst.Ports["5432/tcp"] || !e.container("pg").Running {
		t.Errorf("after the restore: ports %v (were %v), running %v", got.Ports, inst.Ports, e.container("pg").Running)
	}
}

func TestAFailedDumpIsAnErrorWithItsOutputRedactedInTheLog(t *testing.T) {
	e := newEnv(t, withDumpBackup)
	inst := e.mustProvision("pg", svcPostgres, planPg, "")
	e.engine.streamFunc = func(context.Context, string, dockerengine.Exec, io.Reader, io.Writer) (dockerengine.ExecResult, error) {
		return dockerengine.ExecResult{ExitCode: 1, Output: []byte("pg_dumpall: password authentication failed for " + inst.Credentials.Password)}, nil
	}
	ctx := context.Background()
	if err := e.b.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	_, write, err := e.b.BackupInstance(ctx, "pg")
	if err != nil {
		t.Fatal(err)
	}
	if err := write(ctx, io.Discard); err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("a failed dump: %v", err)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "password authentication failed for [redacted]") || strings.Contains(logs, inst.Credentials.Password) {
		t.Errorf("the log of a failed dump: %s", logs)
	}
}

func TestVolumesAreCopiedWhileStoppedAndRestoredWithOwnersAndModes(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("r", svcRedis, planFree, "")
	data := filepath.Join(e.cfg.DataDir, "cf-r", "data")
	if err := os.MkdirAll(filepath.Join(data, "appendonlydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "appendonlydir", "a.aof"), []byte("SET k v"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(data, "appendonlydir", "a.aof"), 999, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("appendonlydir/a.aof", filepath.Join(data, "latest")); err != nil {
		t.Fatal(err)
	}
	var stoppedDuringCopy bool
	e.engine.stopFunc = func(context.Context, *fakeContainer) error {
		stoppedDuringCopy = true
		return nil
	}
	ctx := context.Background()
	if err := e.b.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	format, write, err := e.b.BackupInstance(ctx, "r")
	if err != nil || format != FormatVolumes {
		t.Fatalf("backup of a plan without backup: %q %v, want volumes", format, err)
	}
	var archive bytes.Buffer
	if err := write(ctx, &archive); err != nil {
		t.Fatal(err)
	}
	if !stoppedDuringCopy || !e.container("r").Running {
		t.Errorf("stopped for the copy %v, running after it %v: want both", stoppedDuringCopy, e.container("r").Running)
	}

	if err := os.RemoveAll(filepath.Join(e.cfg.DataDir, "cf-r")); err != nil {
		t.Fatal(err)
	}
	if err := e.b.RestoreInstance(ctx, "r", FormatVolumes, bytes.NewReader(archive.Bytes())); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(data, "appendonlydir", "a.aof"))
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(filepath.Join(data, "latest"))
	if info.Mode().Perm() != 0o640 || string(content) != "SET k v" {
		t.Errorf("restored file mode %o content through the link %q", info.Mode().Perm(), content)
	}
	if st := stat(t, filepath.Join(data, "appendonlydir", "a.aof")); st.Uid != 999 || st.Gid != 1000 {
		t.Errorf("restored file owned by %d:%d, want 999:1000", st.Uid, st.Gid)
	}
	if !e.container("r").Running {
		t.Error("no running container after the restore")
	}
}
