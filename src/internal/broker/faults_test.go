package broker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// The faults of issue 8: each test here failed before its fix.

// ---- readiness ----

func TestContainerWithoutAddressIsNotReady(t *testing.T) {
	// The engine reports a container it is restarting as running, with no address: a
	// connecting health check has nothing to connect to, which is no pass.
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		hc := &plan(c.Catalog, planFree).HealthCheck
		hc.Command, hc.Timeout = nil, config.Duration(200*time.Millisecond)
	})
	if _, err := e.provision(provisionReq("noip", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("noip"); lo.State != store.Failed || !strings.Contains(lo.Description, "no network address") {
		t.Errorf("last operation %+v, want failed for want of an address", lo)
	}
}

func TestCrashLoopingContainerFailsSayingWhy(t *testing.T) {
	e := newEnv(t, nil)
	var password string
	e.engine.afterStart = func(c *fakeContainer) {
		password, _ = envOf(*c, "REDIS_PASSWORD")
		// Running as far as the engine says, but restarting over and over.
		c.State, c.RestartCount, c.ExitCode = "restarting", 0, 1
		e.engine.logs = []byte("starting with password " + password + "\nFATAL: could not write to file \"pg_wal/xlogtemp.35\": No space left on device\n")
	}
	e.engine.afterInspect = func(c *fakeContainer) { c.RestartCount++ }
	if _, err := e.provision(provisionReq("loop", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("loop")
	for _, want := range []string{"keeps crashing", "exit code 1", "data disk is full", `last log line: FATAL: could not write to file "pg_wal/xlogtemp.35": No space left on device`} {
		if lo.State != store.Failed || !strings.Contains(lo.Description, want) {
			t.Errorf("last operation %+v, want failed saying %q", lo, want)
		}
	}
	if password == "" || strings.Contains(e.logs.String(), password) {
		t.Errorf("the container's log reached the broker's log unredacted (password %q)", password)
	}
	if !strings.Contains(e.logs.String(), "[redacted]") {
		t.Errorf("the log tail is not in the broker's log:\n%s", e.logs)
	}
	e.noContainer("loop")
}

func TestReadyMeansTheCheckKeepsPassing(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		hc := &plan(c.Catalog, planFree).HealthCheck
		hc.Hold, hc.Timeout = config.Duration(100*time.Millisecond), config.Duration(400*time.Millisecond)
	})
	// The service answers once, then crashes: never ready.
	var mu sync.Mutex
	calls := 0
	e.engine.execFunc = func(context.Context, string, dockerengine.Exec) (dockerengine.ExecResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return dockerengine.ExecResult{ExitCode: min(calls-1, 1)}, nil
	}
	if _, err := e.provision(provisionReq("flaky", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("flaky"); lo.State != store.Failed || !strings.Contains(lo.Description, "did not become ready") {
		t.Errorf("a service that passed its check once: %+v, want failed", lo)
	}

	// A container the engine restarts while its check passes starts its hold anew: restarted
	// 60ms into a 100ms hold, it is ready no sooner than 160ms after its first pass.
	e.engine.execFunc = nil
	var firstInspect time.Time
	restarted := false
	e.engine.afterInspect = func(c *fakeContainer) {
		switch {
		case firstInspect.IsZero():
			firstInspect = time.Now()
		case !restarted && time.Since(firstInspect) >= 60*time.Millisecond:
			restarted = true
			c.Pid, c.RestartCount = c.Pid+1, c.RestartCount+1
		}
	}
	e.mustProvision("steady", svcRedis, planFree, "")
	if took := time.Since(firstInspect); !restarted || took < 160*time.Millisecond {
		t.Errorf("ready %s after the first check (restarted: %v), want the hold of 100ms counted from the restart at 60ms", took, restarted)
	}
}

// While its check passes, a container is looked at again when the hold can have ended, not
// every poll: a swarm answers each look with several calls to its managers and a node.
func TestAPassingCheckIsRepeatedOnlyWhenTheHoldCanEnd(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		hc := &plan(c.Catalog, planFree).HealthCheck
		hc.Command = []string{"redis-cli", "ping"}
		hc.Hold, hc.Interval = config.Duration(300*time.Millisecond), config.Duration(time.Second)
	})
	var mu sync.Mutex
	var checks []time.Time
	e.engine.execFunc = func(context.Context, string, dockerengine.Exec) (dockerengine.ExecResult, error) {
		mu.Lock()
		defer mu.Unlock()
		checks = append(checks, time.Now())
		return dockerengine.ExecResult{}, nil
	}
	e.mustProvision("steady", svcRedis, planFree, "")
	// The first check passes; the next one, 300ms later, ends the hold (a third one should
	// that one come a moment early). Polling every 20ms would have checked 15 times.
	mu.Lock()
	defer mu.Unlock()
	if len(checks) < 2 || len(checks) > 3 {
		t.Fatalf("%d checks during a hold of 300ms, want 2 (3 at most)", len(checks))
	}
	if held := checks[len(checks)-1].Sub(checks[0]); held < 250*time.Millisecond {
		t.Errorf("ready after the check passed for %s, want the hold of 300ms", held)
	}
}

// ---- leftovers of failed provisions ----

// engineDown makes the fake engine refuse to remove or stop containers, as a dead dockerd
// does, until the returned function is called.
func engineDown(e *fakeEngine) (up func()) {
	var mu sync.Mutex
	down := true
	refuse := func() error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("Cannot connect to the Docker daemon at unix:///var/vcap/sys/run/docker/docker.sock. Is the docker daemon running?")
		}
		return nil
	}
	e.stopFunc = func(context.Context, *fakeContainer) error { return refuse() }
	e.removeFunc = func(context.Context, string) error { return refuse() }
	return func() {
		mu.Lock()
		defer mu.Unlock()
		down = false
	}
}

func TestFailedProvisionCleanedUpOnceTheEngineAnswers(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) { c.HousekeepingInterval = 5 * time.Millisecond })
	var up func()
	e.engine.afterStart = func(c *fakeContainer) {
		c.State, c.Running, c.ExitCode = "exited", false, 137
		up = engineDown(e.engine) // dockerd dies with the container
	}
	if _, err := e.provision(provisionReq("orphan", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("orphan"); lo.State != store.Failed {
		t.Fatalf("last operation %+v, want failed", lo)
	}
	if inst := e.instance("orphan"); !inst.Leftovers {
		t.Fatalf("record %+v does not remember its leftovers", inst)
	}
	e.container("orphan")
	if !e.dirExists("orphan") {
		t.Fatal("the directory is gone although the engine was down")
	}
	time.Sleep(20 * time.Millisecond) // housekeeping tries while the engine is down
	up()
	waitFor(t, func() bool {
		_, exists := e.engine.container(containerName("orphan"))
		return !exists && !e.dirExists("orphan") && !e.instance("orphan").Leftovers
	})
	if lo := e.lastOp("orphan"); lo.State != store.Failed {
		t.Errorf("after the clean-up, last operation %+v, want still failed", lo)
	}
	// The platform's retry of the provision now works.
	e.engine.afterStart = nil
	e.mustProvision("orphan", svcRedis, planFree, "")
}

func TestReconciliationRemovesWhatFailedProvisionsLeft(t *testing.T) {
	e := buildEnv(t, nil)
	failed := func(id string, leftovers bool) {
		inst := store.Instance{ID: id, ServiceID: svcRedis, PlanID: planFree, Leftovers: leftovers,
			Operation: store.Operation{ID: "provision-x", Kind: store.Provision, State: store.Failed}}
		if err := e.store.PutInstance(inst); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{LabelBroker: brokerName, LabelInstanceID: id, LabelServiceID: svcRedis, LabelPlanID: planFree}
		e.engine.putContainer(containerName(id), imgRedis, labels, true)
		if err := e.b.createVolumes(context.Background(), id, []string{"/data"}); err != nil {
			t.Fatal(err)
		}
	}
	failed("flagged", true)
	failed("unflagged", false) // recorded before the flag existed, or the broker died meanwhile
	if err := e.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"flagged", "unflagged"} {
		e.noContainer(id)
		if e.dirExists(id) {
			t.Errorf("the directory of %s remains", id)
		}
		if inst := e.instance(id); inst.Leftovers || inst.Operation.State != store.Failed {
			t.Errorf("record of %s: %+v", id, inst)
		}
	}
	got, _ := e.b.Reconciliation(context.Background())
	if report := got.(Reconciliation); fmt.Sprint(report.CleanedUpFailedProvisions) != "[flagged unflagged]" || len(report.ContainersWithoutRecord) != 0 {
		t.Errorf("report %+v, want both cleaned up", report)
	}
}

// ---- resumption ----

func TestResumedProvisionAdoptsTheContainerItsAttemptCreated(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.startGate = make(chan struct{})
	e.engine.startEntered = make(chan string, 4)
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	created := <-e.engine.startEntered
	e.b.Shutdown() // the broker dies after creating the container
	e.engine.startGate, e.engine.startEntered = nil, nil
	e.restart()
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != store.Succeeded {
		t.Fatalf("resumed provision: %+v", lo)
	}
	if c := e.container("i1"); c.ID != created || e.engine.createCount(containerName("i1")) != 1 {
		t.Errorf("container %s after %d creates, want the interrupted attempt's %s adopted", c.ID, e.engine.createCount(containerName("i1")), created)
	}

	// A container of the instance's name made from another spec is replaced.
	inst := e.instance("i1")
	e.engine.mu.Lock()
	e.engine.lookupLocked(created).Labels[LabelSpec] = "another"
	e.engine.mu.Unlock()
	inst.Operation = store.Operation{ID: "provision-y", Kind: store.Provision, State: store.InProgress, Attempts: 1}
	inst.Provisioned = false
	if err := e.store.PutInstance(inst); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.b.Wait()
	if c := e.container("i1"); c.ID == created || !c.Running {
		t.Errorf("container %+v, want a new one in place of the foreign-spec one", c.Container)
	}
}

// ---- races and housekeeping ----

func TestSecondDeleteWhileTheFirstHaltsAProvision(t *testing.T) {
	e := newEnv(t, nil)
	release := make(chan struct{})
	e.engine.startEntered = make(chan string, 4)
	halted := make(chan struct{})
	e.engine.startFunc = func(ctx context.Context, _ *fakeContainer) error {
		<-ctx.Done() // the first DELETE halts the provision...
		close(halted)
		<-release // ...which takes its time to stop
		return context.Cause(ctx)
	}
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	<-e.engine.startEntered
	answers := make(chan osbapi.OperationResponse, 2)
	go func() {
		resp, err := e.deprovision("i1", true)
		if err != nil {
			t.Error(err)
		}
		answers <- resp
	}()
	<-halted
	go func() {
		resp, err := e.deprovision("i1", true)
		if err != nil {
			t.Error(err)
		}
		answers <- resp
	}()
	time.Sleep(50 * time.Millisecond) // the second DELETE waits too
	close(release)
	first, second := <-answers, <-answers
	e.b.Wait()
	if first.Operation == "" || first.Operation != second.Operation {
		t.Errorf("the two DELETEs answered operations %q and %q, want one deprovision", first.Operation, second.Operation)
	}
	if n := strings.Count(e.logs.String(), `"msg":"deprovisioning"`); n != 1 {
		t.Errorf("%d deprovisions started, want 1", n)
	}
	e.noRecord("i1")
}

func TestTombstonesPrunedWhileRunning(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) { c.HousekeepingInterval = time.Millisecond })
	e.mustProvision("i1", svcRedis, planFree, "")
	if _, err := e.deprovision("i1", false); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(tombstoneRetention + time.Hour)
	waitFor(t, func() bool {
		_, found, _ := e.store.Tombstone("i1")
		return !found
	})
}

func TestRetryAfterFollowsTheOperation(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.startGate = make(chan struct{})
	e.engine.startEntered = make(chan string, 1)
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	<-e.engine.startEntered
	for _, step := range []struct{ advance, want time.Duration }{
		{0, time.Second}, // just started: most containers are up in a second
		{10 * time.Second, 5 * time.Second},
		{time.Hour, maxRetryAfter},
	} {
		e.clock.Advance(step.advance)
		if lo := e.lastOp("i1"); lo.RetryAfter != step.want {
			t.Errorf("after %s: Retry-After %s, want %s", step.advance, lo.RetryAfter, step.want)
		}
	}
	close(e.engine.startGate)
}

func TestContainerDyingBehindTheBrokersBackIsLogged(t *testing.T) {
	e := newEnv(t, func(_ *Config, engine *fakeEngine) { engine.events = make(chan dockerengine.ContainerEvent) })
	e.mustProvision("i1", svcRedis, planFree, "")
	labels := map[string]string{LabelBroker: brokerName, LabelInstanceID: "i1"}
	e.engine.events <- dockerengine.ContainerEvent{Action: "die", Name: "cf-i1", Labels: labels, ExitCode: 139}
	e.engine.events <- dockerengine.ContainerEvent{Action: "start", Name: "cf-i1", Labels: labels}
	waitFor(t, func() bool {
		logs := e.logs.String()
		return strings.Contains(logs, `"msg":"a container of the broker died","instance_id":"i1","container":"cf-i1","event":"die","exit_code":139`) &&
			strings.Contains(logs, `"msg":"a container of the broker was started again by the engine"`)
	})

	// What the broker does itself is no news.
	e.engine.events <- dockerengine.ContainerEvent{Action: "die", Name: "cf-unknown", Labels: map[string]string{LabelBroker: brokerName, LabelInstanceID: "unknown"}}
	e.engine.events <- dockerengine.ContainerEvent{Action: "die", Name: "cf-i1", Labels: labels, ExitCode: 7}
	waitFor(t, func() bool { return strings.Contains(e.logs.String(), `"exit_code":7`) })
	if strings.Contains(e.logs.String(), "cf-unknown") {
		t.Errorf("the death of a container without record was logged:\n%s", e.logs)
	}
}

// ---- messages for people ----

func TestEngineErrorsStayInTheOperatorsLog(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.createFunc = func(context.Context, dockerengine.ContainerSpec) error {
		return errors.New(`Error response from daemon: error while creating mount source path '/var/vcap/store/docker-broker/data/cf-i1/data': mkdir /var/vcap/store: read-only file system`)
	}
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("i1")
	op := e.instance("i1").Operation.ID
	if lo.State != store.Failed || strings.Contains(lo.Description, "/var/vcap") || strings.Contains(lo.Description, "daemon") || !strings.Contains(lo.Description, op) {
		t.Errorf("description %q: want no host path or daemon message, and operation %s named", lo.Description, op)
	}
	if !strings.Contains(e.logs.String(), "read-only file system") {
		t.Errorf("the engine's message is not in the log:\n%s", e.logs)
	}
	// A synchronous caller reads the same.
	_, err := e.provision(provisionReq("i2", svcRedis, planFree, false))
	wantError(t, err, http.StatusUnprocessableEntity, "", "the operator finds the details")
}
