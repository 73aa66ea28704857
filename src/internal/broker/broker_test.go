package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// The services of testdata/services.json.
const (
	svcRedis    = "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822"
	planFree    = "13d21792-14f5-11e7-81cd-4357fa4eeda9" // redis free: password only
	planTiny    = "6a4a6bbc-0b8e-4e0e-9d3b-1a4b2c3d4e5f" // redis tiny: max_containers 1, schema, maintenance 1.1.0, uri
	svcPostgres = "ef761cec-14f7-11e7-8dfb-bbab51a4e12a"
	planPg      = "f30f03fa-14f7-11e7-8d86-cf0d7f2c3728"
	svcMySQL    = "24736f4a-72b8-4298-96f7-b48c4045ddfd"
	planMySQL   = "d42fc3cc-1341-4aa3-866e-01bc5243dc2e"

	imgRedis = "frodenas/redis:3.2"
	imgPg    = "frodenas/postgresql:9.6"
	imgMySQL = "frodenas/mysql:5.6"

	brokerName   = "unit"
	externalHost = "broker.example.com"
	portLow      = 42000
	portHigh     = 42999
)

// fakeClock is the broker's clock in tests; Advance moves it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a broker on a fake engine, a real store in a temp file and a fake clock.
type env struct {
	t      *testing.T
	engine *fakeEngine
	// brokerEngine, when set, is what the broker gets in place of engine: engine wrapped in
	// what a test adds to it.
	brokerEngine Engine
	store        *store.Store
	clock        *fakeClock
	cfg          Config
	b            *Broker
	logs         *testenv.LogBuffer // what every broker of the env logged
}

// loadCatalog parses testdata/services.json, with health checks that poll fast and are
// commands the fake engine's exec answers (it has no network to connect to); a test of the
// connecting checks clears the command.
func loadCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	raw, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	cat, _, err := catalog.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Services {
		for j := range cat.Services[i].Plans {
			hc := &cat.Services[i].Plans[j].HealthCheck
			hc.Interval = config.Duration(5 * time.Millisecond)
			hc.Timeout = config.Duration(5 * time.Second)
			hc.Hold = config.Duration(20 * time.Millisecond)
			if len(hc.Command) == 0 && hc.TCPPort == "" {
				hc.Command = []string{"true"}
			}
		}
	}
	return cat
}

// plan returns a pointer into the catalog, to adjust a plan for a test.
func plan(cat *catalog.Catalog, planID string) *catalog.Plan {
	for i := range cat.Services {
		for j := range cat.Services[i].Plans {
			if cat.Services[i].Plans[j].ID == planID {
				return &cat.Services[i].Plans[j]
			}
		}
	}
	panic("no plan " + planID)
}

// newEnv builds a broker (configure may adjust its config and engine first) and starts it.
func newEnv(t *testing.T, configure func(*Config, *fakeEngine)) *env {
	t.Helper()
	e := buildEnv(t, configure)
	if err := e.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

// buildEnv builds a broker without starting it.
func buildEnv(t *testing.T, configure func(*Config, *fakeEngine)) *env {
	t.Helper()
	dir := t.TempDir()
	engine := newFakeEngine()
	engine.addImage(imgRedis, "6379/tcp")
	engine.addImage(imgPg, "5432/tcp")
	engine.addImage(imgMySQL, "3306/tcp")
	cfg := Config{
		Catalog:         loadCatalog(t),
		Name:            brokerName,
		ExternalHost:    externalHost,
		BindIP:          "127.0.0.1",
		PortRange:       [2]int{portLow, portHigh},
		DataDir:         filepath.Join(dir, "data"),
		SyncTimeout:     5 * time.Second,
		StopGrace:       time.Second,
		TombstoneWindow: time.Hour,
	}
	if configure != nil {
		configure(&cfg, engine)
	}
	st, err := store.Open(filepath.Join(dir, "state", "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, engine: engine, store: st, clock: &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, cfg: cfg, logs: &testenv.LogBuffer{}}
	e.b = e.newBroker()
	t.Cleanup(func() {
		e.b.Shutdown()
		st.Close()
	})
	return e
}

func (e *env) newBroker() *Broker {
	var engine Engine = e.engine
	if e.brokerEngine != nil {
		engine = e.brokerEngine
	}
	b, err := New(e.cfg, engine, e.store, slog.New(slog.NewJSONHandler(e.logs, nil)))
	if err != nil {
		e.t.Fatal(err)
	}
	b.SetClock(e.clock)
	return b
}

// restart stops the broker and starts a new one on the same store, engine and clock.
func (e *env) restart() {
	e.t.Helper()
	e.b.Shutdown()
	e.b = e.newBroker()
	if err := e.b.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func provisionReq(id, service, planID string, async bool) osbapi.ProvisionRequest {
	return osbapi.ProvisionRequest{
		InstanceID: id, AcceptsIncomplete: async, ServiceID: service, PlanID: planID,
		OrganizationGUID: "org-1", SpaceGUID: "space-1",
	}
}

func (e *env) provision(req osbapi.ProvisionRequest) (osbapi.ProvisionResponse, error) {
	return e.b.Provision(context.Background(), req)
}

// mustProvision provisions asynchronously and waits until it succeeded.
func (e *env) mustProvision(id, service, planID, params string) store.Instance {
	e.t.Helper()
	req := provisionReq(id, service, planID, true)
	if params != "" {
		req.Parameters = json.RawMessage(params)
	}
	resp, err := e.provision(req)
	if err != nil || !resp.Async || resp.Operation == "" {
		e.t.Fatalf("provision %s: %+v %v, want 202 with an operation", id, resp, err)
	}
	e.b.Wait()
	if lo := e.lastOp(id); lo.State != store.Succeeded {
		e.t.Fatalf("provision %s: last operation %+v", id, lo)
	}
	return e.instance(id)
}

func (e *env) lastOp(id string) osbapi.LastOperationResponse {
	e.t.Helper()
	lo, err := e.b.LastOperation(context.Background(), osbapi.LastOperationRequest{InstanceID: id})
	if err != nil {
		e.t.Fatalf("last_operation of %s: %v", id, err)
	}
	return lo
}

func (e *env) instance(id string) store.Instance {
	e.t.Helper()
	inst, found, err := e.store.Instance(id)
	if err != nil || !found {
		e.t.Fatalf("record of %s: found=%v %v", id, found, err)
	}
	return inst
}

func (e *env) noRecord(id string) {
	e.t.Helper()
	if inst, found, err := e.store.Instance(id); err != nil || found {
		e.t.Errorf("record of %s remains: %+v (%v)", id, inst, err)
	}
}

func (e *env) container(id string) fakeContainer {
	e.t.Helper()
	c, ok := e.engine.container(containerName(id))
	if !ok {
		e.t.Fatalf("no container for instance %s", id)
	}
	return c
}

func (e *env) noContainer(id string) {
	e.t.Helper()
	if c, ok := e.engine.container(containerName(id)); ok {
		e.t.Errorf("container of %s remains: %+v", id, c.Container)
	}
}

func (e *env) dirExists(id string) bool {
	_, err := os.Stat(filepath.Join(e.cfg.DataDir, containerName(id)))
	return err == nil
}

// update sends a PATCH.
func (e *env) update(id, planID, params string, async bool) (osbapi.OperationResponse, error) {
	req := osbapi.UpdateRequest{InstanceID: id, AcceptsIncomplete: async, ServiceID: svcRedis, PlanID: planID}
	if params != "" {
		req.Parameters = json.RawMessage(params)
	}
	return e.b.Update(context.Background(), req)
}

func (e *env) deprovision(id string, async bool) (osbapi.OperationResponse, error) {
	inst, _, _ := e.store.Instance(id)
	return e.b.Deprovision(context.Background(), osbapi.DeprovisionRequest{InstanceID: id, ServiceID: inst.ServiceID, PlanID: inst.PlanID, AcceptsIncomplete: async})
}

func (e *env) bind(instanceID, bindingID, planID, app string) (osbapi.BindResponse, error) {
	return e.b.Bind(context.Background(), osbapi.BindRequest{InstanceID: instanceID, BindingID: bindingID, ServiceID: svcRedis, PlanID: planID, AppGUID: app})
}

// wantError asserts an OSB error with status, code and description fragments.
func wantError(t *testing.T, err error, status int, code string, fragments ...string) {
	t.Helper()
	var oe *osbapi.Error
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want a %d %s error", err, status, code)
	}
	if oe.Status != status || oe.Code != code {
		t.Fatalf("got %v, want a %d %s error", oe, status, code)
	}
	for _, f := range fragments {
		if !strings.Contains(oe.Description, f) {
			t.Errorf("description %q does not mention %q", oe.Description, f)
		}
	}
}

// hostPort is the host port of the instance's container port.
func hostPort(t *testing.T, inst store.Instance, containerPort string) string {
	t.Helper()
	p := inst.Ports[containerPort]
	n, err := strconv.Atoi(p)
	if err != nil || n < portLow || n > portHigh {
		t.Fatalf("instance %s: host port %q of %s is not in %d-%d", inst.ID, p, containerPort, portLow, portHigh)
	}
	return p
}

// parallel runs f(i) for i in [0,n) at once and waits.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

// ---- concurrency of admission ----

func TestParallelIdenticalProvisionsCreateOneContainer(t *testing.T) {
	for _, gated := range []bool{true, false} {
		t.Run(fmt.Sprintf("start blocked=%v", gated), func(t *testing.T) {
			e := newEnv(t, nil)
			if gated {
				e.engine.startGate = make(chan struct{})
			}
			resps := make([]osbapi.ProvisionResponse, 10)
			errs := make([]error, 10)
			parallel(10, func(i int) {
				resps[i], errs[i] = e.provision(provisionReq("same", svcRedis, planFree, true))
			})
			if gated {
				close(e.engine.startGate)
			}
			e.b.Wait()
			op := ""
			for i := range resps {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				switch {
				case resps[i].Async && resps[i].Operation != "":
					if op == "" {
						op = resps[i].Operation
					}
					if resps[i].Operation != op {
						t.Errorf("request %d got operation %q, another %q", i, resps[i].Operation, op)
					}
				case resps[i].AlreadyExists && !gated:
				default:
					t.Errorf("request %d: %+v, want 202 with the operation (or 200 once done)", i, resps[i])
				}
			}
			if op == "" {
				t.Error("no request got 202")
			}
			if n := e.engine.createCount(""); n != 1 {
				t.Errorf("%d CreateContainer calls, want 1", n)
			}
			if e.engine.containerCount() != 1 {
				t.Errorf("%d containers, want 1", e.engine.containerCount())
			}
			if lo := e.lastOp("same"); lo.State != store.Succeeded {
				t.Errorf("last operation %+v", lo)
			}
		})
	}
}

func TestParallelDistinctProvisionsGetDistinctPorts(t *testing.T) {
	e := newEnv(t, nil)
	errs := make([]error, 20)
	parallel(20, func(i int) {
		_, errs[i] = e.provision(provisionReq(fmt.Sprintf("i%02d", i), svcRedis, planFree, true))
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("provision %d: %v", i, err)
		}
	}
	e.b.Wait()
	if n := e.engine.containerCount(); n != 20 {
		t.Fatalf("%d containers, want 20", n)
	}
	seen := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("i%02d", i)
		if lo := e.lastOp(id); lo.State != store.Succeeded {
			t.Fatalf("%s: %+v", id, lo)
		}
		inst := e.instance(id)
		p := hostPort(t, inst, "6379/tcp")
		if other, dup := seen[p]; dup {
			t.Errorf("host port %s given to %s and %s", p, other, id)
		}
		seen[p] = id
		c := e.container(id)
		want := []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostIP: "127.0.0.1", HostPort: p}}
		if !slices.Equal(c.Spec.Ports, want) {
			t.Errorf("%s publishes %+v, want %+v", id, c.Spec.Ports, want)
		}
	}
}

func TestQuotaGlobalExactUnderConcurrency(t *testing.T) {
	const n = 4
	e := newEnv(t, func(c *Config, _ *fakeEngine) { c.MaxContainers = n })
	e.engine.startGate = make(chan struct{}) // admitted provisions stay in progress: they count too
	resps := make([]osbapi.ProvisionResponse, 3*n)
	errs := make([]error, 3*n)
	parallel(3*n, func(i int) {
		resps[i], errs[i] = e.provision(provisionReq(fmt.Sprintf("q%02d", i), svcRedis, planFree, true))
	})
	close(e.engine.startGate)
	e.b.Wait()
	admitted := 0
	for i := range resps {
		if errs[i] == nil {
			if !resps[i].Async {
				t.Errorf("request %d: %+v", i, resps[i])
			}
			admitted++
			continue
		}
		wantError(t, errs[i], http.StatusUnprocessableEntity, "", "max_containers", strconv.Itoa(n))
	}
	if admitted != n {
		t.Errorf("%d provisions admitted, want exactly %d", admitted, n)
	}
	if c := e.engine.containerCount(); c != n {
		t.Errorf("%d containers, want %d", c, n)
	}
	// Refused ones left no record.
	all, _ := e.store.Instances()
	if len(all) != n {
		t.Errorf("%d records, want %d", len(all), n)
	}
}

func TestQuotaPlanMaxContainersIgnoresFailedProvisions(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) { c.MaxContainers = 2 })
	// A failed provision of the tiny plan (max_containers 1) holds no place.
	e.engine.createFunc = func(context.Context, dockerengine.ContainerSpec) error { return errors.New("no space left on device") }
	if _, err := e.provision(provisionReq("broken", svcRedis, planTiny, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("broken"); lo.State != store.Failed {
		t.Fatalf("broken: %+v", lo)
	}
	e.engine.createFunc = nil

	// Parallel tiny provisions: exactly one fits.
	errs := make([]error, 6)
	parallel(6, func(i int) {
		_, errs[i] = e.provision(provisionReq(fmt.Sprintf("t%d", i), svcRedis, planTiny, true))
	})
	e.b.Wait()
	admitted := 0
	for _, err := range errs {
		if err == nil {
			admitted++
			continue
		}
		wantError(t, err, http.StatusUnprocessableEntity, "", "plan tiny", "max_containers")
	}
	if admitted != 1 {
		t.Fatalf("%d tiny provisions admitted, want 1", admitted)
	}
	// The broker-wide limit (2) counts the tiny instance, not the failed one.
	e.mustProvision("free1", svcRedis, planFree, "")
	_, err := e.provision(provisionReq("free2", svcRedis, planFree, true))
	wantError(t, err, http.StatusUnprocessableEntity, "", "max_containers")
	// A deprovisioned instance frees its place.
	if _, err := e.deprovision("free1", false); err != nil {
		t.Fatal(err)
	}
	e.mustProvision("free2", svcRedis, planFree, "")
}

// ---- provision idempotency ----

func TestProvisionRepeats(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	creates := e.engine.createCount("")

	identical := provisionReq("i1", svcRedis, planTiny, true)
	identical.Parameters = json.RawMessage(`{ "REDIS_MAXMEMORY" : "64mb" }`)
	for _, async := range []bool{true, false} {
		identical.AcceptsIncomplete = async
		resp, err := e.provision(identical)
		if err != nil || !resp.AlreadyExists || resp.Async {
			t.Errorf("identical PUT (async=%v) after success: %+v %v, want 200", async, resp, err)
		}
	}
	for name, change := range map[string]func(*osbapi.ProvisionRequest){
		"plan":      func(r *osbapi.ProvisionRequest) { r.PlanID = planFree; r.Parameters = nil },
		"params":    func(r *osbapi.ProvisionRequest) { r.Parameters = json.RawMessage(`{"REDIS_MAXMEMORY":"128mb"}`) },
		"no params": func(r *osbapi.ProvisionRequest) { r.Parameters = nil },
		"org":       func(r *osbapi.ProvisionRequest) { r.OrganizationGUID = "org-2" },
		"space":     func(r *osbapi.ProvisionRequest) { r.SpaceGUID = "space-2" },
		"service":   func(r *osbapi.ProvisionRequest) { r.ServiceID, r.PlanID, r.Parameters = svcPostgres, planPg, nil },
	} {
		t.Run(name, func(t *testing.T) {
			req := identical
			req.AcceptsIncomplete = true
			change(&req)
			_, err := e.provision(req)
			wantError(t, err, http.StatusConflict, "")
		})
	}
	if n := e.engine.createCount(""); n != creates {
		t.Errorf("repeated PUTs created %d containers", n-creates)
	}
	if inst := e.instance("i1"); inst.PlanID != planTiny || inst.OrganizationGUID != "org-1" {
		t.Errorf("a refused PUT changed the record: %+v", inst)
	}
}

func TestProvisionWhileProvisioningNeedsAsync(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.startGate = make(chan struct{})
	first, err := e.provision(provisionReq("i1", svcRedis, planFree, true))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.provision(provisionReq("i1", svcRedis, planFree, false))
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired)
	again, err := e.provision(provisionReq("i1", svcRedis, planFree, true))
	if err != nil || !again.Async || again.Operation != first.Operation {
		t.Errorf("identical async PUT while provisioning: %+v %v, want 202 with operation %s", again, err, first.Operation)
	}
	if lo := e.lastOp("i1"); lo.State != store.InProgress || lo.RetryAfter <= 0 {
		t.Errorf("last operation while provisioning: %+v", lo)
	}
	// A different PUT while it provisions conflicts.
	_, err = e.provision(provisionReq("i1", svcRedis, planTiny, true))
	wantError(t, err, http.StatusConflict, "")
	close(e.engine.startGate)
	e.b.Wait()
	if n := e.engine.createCount(""); n != 1 {
		t.Errorf("%d containers created, want 1", n)
	}
}

func TestProvisionWhileOtherOperationRunsIsConcurrencyError(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	identical := provisionReq("i1", svcRedis, planTiny, true)
	identical.Parameters = json.RawMessage(`{"REDIS_MAXMEMORY":"64mb"}`)

	// While an update runs (its new container waits to start).
	e.engine.startGate = make(chan struct{})
	if resp, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"128mb"}`, true); err != nil || !resp.Async {
		t.Fatalf("update: %+v %v", resp, err)
	}
	waitFor(t, func() bool { return e.engine.createCount("") == 2 })
	_, err := e.provision(identical)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	close(e.engine.startGate)
	e.b.Wait()
	e.engine.startGate = nil
	if lo := e.lastOp("i1"); lo.State != store.Succeeded {
		t.Fatalf("update: %+v", lo)
	}

	// While a deprovision runs (the container takes its time to stop).
	identical.Parameters = json.RawMessage(`{"REDIS_MAXMEMORY":"128mb"}`)
	release := make(chan struct{})
	e.engine.stopFunc = func(ctx context.Context, _ *fakeContainer) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if resp, err := e.deprovision("i1", true); err != nil || !resp.Async {
		t.Fatalf("deprovision: %+v %v", resp, err)
	}
	_, err = e.provision(identical)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	close(release)
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != store.Succeeded {
		t.Errorf("deprovision: %+v", lo)
	}
	e.noContainer("i1")
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// ---- synchronous requests ----

func TestSyncProvisionSucceedsWith201(t *testing.T) {
	e := newEnv(t, nil)
	resp, err := e.provision(provisionReq("i1", svcRedis, planFree, false))
	if err != nil || resp.Async || resp.AlreadyExists {
		t.Fatalf("sync provision: %+v %v, want 201", resp, err)
	}
	if inst := e.instance("i1"); !inst.Provisioned || inst.Operation.State != store.Succeeded {
		t.Errorf("record %+v", inst)
	}
	if c := e.container("i1"); !c.Running {
		t.Errorf("container not running: %+v", c.Container)
	}
}

func TestSyncProvisionTimeoutLeavesNothing(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		c.SyncTimeout = 100 * time.Millisecond
		c.MaxContainers = 1
	})
	e.engine.startGate = make(chan struct{}) // never opens: only the timeout ends the start
	began := time.Now()
	_, err := e.provision(provisionReq("slow", svcRedis, planFree, false))
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeAsyncRequired, "accepts_incomplete")
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("the synchronous request took %s", d)
	}
	if e.engine.createCount("") != 1 {
		t.Fatalf("the provision did not get as far as creating its container")
	}
	e.noContainer("slow")
	e.noRecord("slow")
	if e.dirExists("slow") {
		t.Error("the instance directory remains")
	}
	if _, err := e.deprovision("slow", false); err == nil {
		t.Error("DELETE of the timed-out instance succeeded; want 410")
	}
	// It holds no place in the quota.
	e.engine.startGate = nil
	e.mustProvision("next", svcRedis, planFree, "")
}

func TestSyncProvisionFailureLeavesNoRecord(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.afterStart = func(c *fakeContainer) { c.State, c.Running, c.ExitCode = "exited", false, 1 }
	_, err := e.provision(provisionReq("bad", svcRedis, planFree, false))
	if err == nil {
		t.Fatal("a failed synchronous provision answered success")
	}
	if !strings.Contains(err.Error(), "exit code 1") {
		t.Errorf("error %v does not tell why", err)
	}
	e.noRecord("bad")
	e.noContainer("bad")
	if e.dirExists("bad") {
		t.Error("the instance directory remains")
	}
	_, err = e.b.LastOperation(context.Background(), osbapi.LastOperationRequest{InstanceID: "bad"})
	wantError(t, err, 404, "")
	// The id is free again: a later provision of it works.
	e.engine.afterStart = nil
	if _, err := e.provision(provisionReq("bad", svcRedis, planFree, false)); err != nil {
		t.Fatal(err)
	}
}

// ---- failures of provisioning ----

func TestMissingImagePullFails(t *testing.T) {
	e := newEnv(t, func(_ *Config, engine *fakeEngine) {
		delete(engine.images, imgPg)
	})
	e.mustProvision("other", svcRedis, planFree, "") // its directory must survive the failure below
	if _, err := e.provision(osbapi.ProvisionRequest{InstanceID: "pg", AcceptsIncomplete: true, ServiceID: svcPostgres, PlanID: planPg, OrganizationGUID: "o", SpaceGUID: "s"}); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("pg")
	if lo.State != store.Failed || !strings.Contains(lo.Description, imgPg) || !strings.Contains(lo.Description, "ask the operator") {
		t.Errorf("last operation %+v, want failed naming %s and whom to ask", lo, imgPg)
	}
	// The engine's own words are the operator's, in the log.
	if strings.Contains(lo.Description, "pull access denied") || !strings.Contains(e.logs.String(), "pull access denied") {
		t.Errorf("the pull's error is in the description %q or missing from the log:\n%s", lo.Description, e.logs)
	}
	if e.engine.pullCount(imgPg) != 1 {
		t.Errorf("%d pulls of %s, want 1", e.engine.pullCount(imgPg), imgPg)
	}
	e.noContainer("pg")
	if e.dirExists("pg") {
		t.Error("the failed instance's directory remains")
	}
	if !e.dirExists("other") {
		t.Error("another instance's directory was removed")
	}
	// Orphan mitigation: the platform deletes the failed instance.
	if _, err := e.deprovision("pg", false); err != nil {
		t.Errorf("deprovision of a failed instance: %v", err)
	}
	// Once the image can be pulled, a provision pulls it and succeeds.
	e.engine.addRemoteImage(imgPg, "5432/tcp")
	if _, err := e.provision(osbapi.ProvisionRequest{InstanceID: "pg2", AcceptsIncomplete: true, ServiceID: svcPostgres, PlanID: planPg, OrganizationGUID: "o", SpaceGUID: "s"}); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("pg2"); lo.State != store.Succeeded {
		t.Errorf("provision after the image became pullable: %+v", lo)
	}
}

func TestContainerExitsBeforeHealthy(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.afterStart = func(c *fakeContainer) { c.State, c.Running, c.ExitCode = "exited", false, 3 }
	if _, err := e.provision(provisionReq("crash", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("crash")
	if lo.State != store.Failed || !strings.Contains(lo.Description, "exit code 3") {
		t.Errorf("last operation %+v, want failed with the exit status", lo)
	}
	e.noContainer("crash")
	if e.dirExists("crash") {
		t.Error("the instance directory remains")
	}
	// The failed instance cannot be bound; the platform deletes it.
	_, err := e.bind("crash", "b1", planFree, "app")
	wantError(t, err, http.StatusNotFound, "")
	if _, err := e.deprovision("crash", false); err != nil {
		t.Fatal(err)
	}
	e.noRecord("crash")
}

// fakePostgres accepts connections and answers every startup message with reply.
func fakePostgres(t *testing.T, reply []byte) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				startup := make([]byte, 8)
				if _, err := io.ReadFull(conn, startup); err == nil {
					_, _ = conn.Write(reply)
				}
			}()
		}
	}()
	return l
}

func TestHealthCheckProbesTheCredentialPortInItsProtocol(t *testing.T) {
	askForPassword := []byte("R\x00\x00\x00\x08\x00\x00\x00\x03")
	startingUp := []byte("E\x00\x00\x00\x3aSFATAL\x00C57P03\x00Mthe database system is starting up\x00\x00")
	l := fakePostgres(t, askForPassword)
	defer l.Close()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "/tcp"
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		engine.addImage(imgPg, port) // postgres "listens" on the listener's port
		engine.ipAddress = "127.0.0.1"
		hc := &plan(c.Catalog, planPg).HealthCheck
		hc.Command = nil
		hc.Timeout = config.Duration(300 * time.Millisecond)
		hc.Interval = config.Duration(10 * time.Millisecond)
	})
	pg := func(id string) osbapi.ProvisionRequest {
		return osbapi.ProvisionRequest{InstanceID: id, AcceptsIncomplete: true, ServiceID: svcPostgres, PlanID: planPg, OrganizationGUID: "o", SpaceGUID: "s"}
	}
	if _, err := e.provision(pg("up")); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("up"); lo.State != store.Succeeded {
		t.Fatalf("with a server asking for a password: %+v", lo)
	}
	l.Close()

	// A server that accepts connections but not yet logins is not healthy.
	starting := fakePostgres(t, startingUp)
	defer starting.Close()
	e.engine.addImage(imgPg, strconv.Itoa(starting.Addr().(*net.TCPAddr).Port)+"/tcp")
	if _, err := e.provision(pg("starting")); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("starting"); lo.State != store.Failed || !strings.Contains(lo.Description, "the database system is starting up") {
		t.Errorf("with a server starting up: %+v, want failed quoting the server", lo)
	}

	starting.Close()
	if _, err := e.provision(pg("down")); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("down")
	if lo.State != store.Failed || !strings.Contains(lo.Description, "did not become ready") || !strings.Contains(lo.Description, "nothing accepts connections") {
		t.Errorf("without a listener: %+v, want failed saying nothing listens", lo)
	}
	e.noContainer("down")
}

func TestHealthCheckCommand(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		hc := &plan(c.Catalog, planFree).HealthCheck
		hc.Command = []string{"redis-cli", "ping"}
		hc.Timeout = config.Duration(300 * time.Millisecond)
	})
	var mu sync.Mutex
	calls := 0
	healthyAfter := 3
	e.engine.execFunc = func(context.Context, string, dockerengine.Exec) (dockerengine.ExecResult, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls >= healthyAfter {
			return dockerengine.ExecResult{}, nil
		}
		return dockerengine.ExecResult{ExitCode: 1}, nil
	}
	e.mustProvision("ok", svcRedis, planFree, "")
	// Ready once the check passes, and keeps passing for the hold period.
	if calls < healthyAfter+1 || !slices.Equal(e.engine.execs[0].Cmd, []string{"redis-cli", "ping"}) {
		t.Errorf("%d execs %+v, want more than %d of redis-cli ping", calls, e.engine.execs, healthyAfter)
	}
	healthyAfter = 1 << 30
	if _, err := e.provision(provisionReq("never", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if lo := e.lastOp("never"); lo.State != store.Failed || !strings.Contains(lo.Description, `"redis-cli ping" exited with status 1`) {
		t.Errorf("last operation %+v, want failed naming the command", lo)
	}
}

// ---- deprovision and last_operation ----

func TestDeprovisionHaltsProvision(t *testing.T) {
	for _, async := range []bool{true, false} {
		t.Run(fmt.Sprintf("async=%v", async), func(t *testing.T) {
			e := newEnv(t, nil)
			e.engine.startGate = make(chan struct{}) // never opens
			e.engine.startEntered = make(chan string, 4)
			if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
				t.Fatal(err)
			}
			<-e.engine.startEntered // the container exists and is being started
			if !e.dirExists("i1") {
				t.Fatal("no directory yet")
			}
			resp, err := e.deprovision("i1", async)
			if err != nil || resp.Async != async {
				t.Fatalf("deprovision: %+v %v", resp, err)
			}
			e.b.Wait()
			lo := e.lastOp("i1")
			if lo.State != store.Succeeded {
				t.Errorf("last operation %+v, want succeeded", lo)
			}
			tomb, found, _ := e.store.Tombstone("i1")
			if !found || tomb.Operation.Kind != store.Deprovision {
				t.Errorf("tombstone %+v found=%v, want the deprovision's", tomb, found)
			}
			e.noRecord("i1")
			e.noContainer("i1")
			if e.dirExists("i1") {
				t.Error("the instance directory remains")
			}
			if _, err := e.deprovision("i1", async); err == nil {
				t.Error("second deprovision succeeded, want 410")
			}
		})
	}
}

func TestDeprovisionUnknownIsGone(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.b.Deprovision(context.Background(), osbapi.DeprovisionRequest{InstanceID: "never", ServiceID: svcRedis, PlanID: planFree, AcceptsIncomplete: true})
	wantError(t, err, http.StatusGone, "")
}

func TestLastOperationTombstoneWindow(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.b.LastOperation(context.Background(), osbapi.LastOperationRequest{InstanceID: "never"})
	wantError(t, err, http.StatusNotFound, "")

	e.mustProvision("i1", svcRedis, planFree, "")
	resp, err := e.deprovision("i1", true)
	if err != nil || !resp.Async || !strings.HasPrefix(resp.Operation, "deprovision-") {
		t.Fatalf("deprovision: %+v %v", resp, err)
	}
	e.b.Wait()
	for _, step := range []time.Duration{0, 59 * time.Minute} {
		e.clock.Advance(step)
		if lo := e.lastOp("i1"); lo.State != store.Succeeded {
			t.Errorf("last_operation %s after the delete: %+v, want succeeded", step, lo)
		}
	}
	e.clock.Advance(2 * time.Minute)
	_, err = e.b.LastOperation(context.Background(), osbapi.LastOperationRequest{InstanceID: "i1"})
	wantError(t, err, http.StatusGone, "")
	_, err = e.deprovision("i1", true)
	wantError(t, err, http.StatusGone, "")
}

// ---- update ----

func TestUpdatePlanChangeNotUpdateable(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		c.Catalog.Services[0].PlanUpdateable = false // neither redis plan may change plan
	})
	before := e.mustProvision("i1", svcRedis, planFree, "")
	id := e.container("i1").ID
	_, err := e.update("i1", planTiny, "", true)
	wantError(t, err, http.StatusUnprocessableEntity, "PlanChangeNotSupported", "plan_updateable")
	if inst := e.instance("i1"); inst.PlanID != planFree || inst.Operation.ID != before.Operation.ID {
		t.Errorf("a refused update changed the record: %+v", inst)
	}
	if e.container("i1").ID != id {
		t.Error("a refused update recreated the container")
	}
}

func TestUpdatePlanChangeKeepsPorts(t *testing.T) {
	const imgTiny = "frodenas/redis:3.2-tiny"
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		plan(c.Catalog, planTiny).Container.Tag = "3.2-tiny"
		engine.addImage(imgTiny, "6379/tcp")
	})
	before := e.mustProvision("i1", svcRedis, planFree, "")
	port := hostPort(t, before, "6379/tcp")
	oldID := e.container("i1").ID

	resp, err := e.b.Update(context.Background(), osbapi.UpdateRequest{
		InstanceID: "i1", AcceptsIncomplete: true, ServiceID: svcRedis, PlanID: planTiny,
		Parameters: json.RawMessage(`{"REDIS_MAXMEMORY":"64mb"}`), MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.1.0"},
	})
	if err != nil || !resp.Async || !strings.HasPrefix(resp.Operation, "update-") {
		t.Fatalf("update: %+v %v", resp, err)
	}
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != store.Succeeded {
		t.Fatalf("update: %+v", lo)
	}
	c := e.container("i1")
	if c.ID == oldID || c.Image != imgTiny || c.Labels[LabelPlanID] != planTiny || c.Spec.Memory != 64<<20 {
		t.Errorf("container after the update: id %s (was %s), image %s, plan label %s, memory %d", c.ID, oldID, c.Image, c.Labels[LabelPlanID], c.Spec.Memory)
	}
	if v, _ := envOf(c, "REDIS_MAXMEMORY"); v != "64mb" {
		t.Errorf("REDIS_MAXMEMORY=%q, want 64mb", v)
	}
	if v, _ := envOf(c, "REDIS_PASSWORD"); v != before.Credentials.Password {
		t.Error("the update changed the password")
	}
	after := e.instance("i1")
	if got := hostPort(t, after, "6379/tcp"); got != port || c.Spec.Ports[0].HostPort != port {
		t.Errorf("host port %s (container %s), want the same %s", got, c.Spec.Ports[0].HostPort, port)
	}
	if after.PlanID != planTiny || after.MaintenanceInfo != "1.1.0" || !sameJSON(after.Parameters, json.RawMessage(`{"REDIS_MAXMEMORY":"64mb"}`)) {
		t.Errorf("record after the update: %+v", after)
	}
	got, err := e.b.GetInstance(context.Background(), "i1")
	if err != nil || got.PlanID != planTiny || got.MaintenanceInfo == nil || got.MaintenanceInfo.Version != "1.1.0" {
		t.Errorf("GET instance after the update: %+v %v", got, err)
	}
	if e.engine.containerCount() != 1 {
		t.Errorf("%d containers, want 1", e.engine.containerCount())
	}
}

func TestUpdateParametersValidatedAndPassedAsEnv(t *testing.T) {
	e := newEnv(t, nil)
	before := e.mustProvision("i1", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	for _, bad := range []string{`{"REDIS_MAXMEMORY":"lots"}`, `{"REDIS_MAXMEMORY":64}`, `{"OTHER":"x"}`, `["REDIS_MAXMEMORY"]`} {
		_, err := e.update("i1", "", bad, true)
		wantError(t, err, http.StatusBadRequest, "")
	}
	if inst := e.instance("i1"); inst.Operation.ID != before.Operation.ID {
		t.Fatalf("a refused update started an operation: %+v", inst.Operation)
	}
	// Synchronously this time.
	resp, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"128mb"}`, false)
	if err != nil || resp.Async {
		t.Fatalf("sync update: %+v %v", resp, err)
	}
	c := e.container("i1")
	if v, n := envOf(c, "REDIS_MAXMEMORY"); v != "128mb" || n != 1 {
		t.Errorf("REDIS_MAXMEMORY=%q (set %d times), want 128mb once", v, n)
	}
	after := e.instance("i1")
	if hostPort(t, after, "6379/tcp") != hostPort(t, before, "6379/tcp") {
		t.Error("the host port changed")
	}
	// The same parameters again: nothing to do, no new container.
	creates := e.engine.createCount("")
	if resp, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"128mb"}`, true); err != nil || resp.Async {
		t.Errorf("no-op update: %+v %v, want 200", resp, err)
	}
	if e.engine.createCount("") != creates {
		t.Error("a no-op update recreated the container")
	}
}

func TestUpdateMaintenanceInfoConflict(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planTiny, "")
	_, err := e.b.Update(context.Background(), osbapi.UpdateRequest{InstanceID: "i1", AcceptsIncomplete: true, ServiceID: svcRedis, MaintenanceInfo: &osbapi.MaintenanceInfo{Version: "1.0.0"}})
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeMaintenanceInfoConflict, "1.0.0", "1.1.0")
	req := provisionReq("i2", svcRedis, planTiny, true)
	req.MaintenanceInfo = &osbapi.MaintenanceInfo{Version: "2.0.0"}
	_, err = e.provision(req)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeMaintenanceInfoConflict)
}

func TestUpdateFailureRestoresPreviousContainer(t *testing.T) {
	e := newEnv(t, nil)
	before := e.mustProvision("i1", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	e.engine.createFunc = func(_ context.Context, spec dockerengine.ContainerSpec) error {
		if slices.Contains(spec.Env, "REDIS_MAXMEMORY=128mb") {
			return errors.New("out of memory")
		}
		return nil
	}
	if _, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"128mb"}`, true); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("i1")
	if lo.State != store.Failed || lo.InstanceUsable == nil || !*lo.InstanceUsable || lo.UpdateRepeatable == nil || !*lo.UpdateRepeatable {
		t.Errorf("last operation %+v, want failed, instance usable, update repeatable", lo)
	}
	// The engine's message is for the operator: the description says where to find it.
	op := e.instance("i1").Operation.ID
	if strings.Contains(lo.Description, "out of memory") || !strings.Contains(lo.Description, op) || !strings.Contains(e.logs.String(), "out of memory") {
		t.Errorf("description %q quotes the engine or does not name operation %s; log:\n%s", lo.Description, op, e.logs)
	}
	c := e.container("i1")
	if v, _ := envOf(c, "REDIS_MAXMEMORY"); v != "64mb" || !c.Running {
		t.Errorf("restored container: REDIS_MAXMEMORY=%q running=%v, want 64mb running", v, c.Running)
	}
	after := e.instance("i1")
	if !sameJSON(after.Parameters, before.Parameters) || after.PlanID != planTiny || hostPort(t, after, "6379/tcp") != hostPort(t, before, "6379/tcp") {
		t.Errorf("record after a failed update: %+v", after)
	}
	// The instance is usable: it can be bound, fetched and updated again.
	if _, err := e.bind("i1", "b1", planTiny, "app"); err != nil {
		t.Errorf("bind after a failed update: %v", err)
	}
	if got, err := e.b.GetInstance(context.Background(), "i1"); err != nil || !sameJSON(got.Parameters, before.Parameters) {
		t.Errorf("GET instance: %+v %v", got, err)
	}
}

// An update interrupted by a restart that then fails must restore the plan the instance had,
// and the record must keep it: the update never happened.
func TestUpdateInterruptedThenFailedRestoresOldPlan(t *testing.T) {
	const imgTiny = "frodenas/redis:3.2-tiny"
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		plan(c.Catalog, planTiny).Container.Tag = "3.2-tiny"
		engine.addImage(imgTiny, "6379/tcp")
	})
	before := e.mustProvision("i1", svcRedis, planFree, "")
	e.engine.startGate = make(chan struct{})
	e.engine.startEntered = make(chan string, 4)
	if _, err := e.update("i1", planTiny, "", true); err != nil {
		t.Fatal(err)
	}
	<-e.engine.startEntered
	// A client identical to the instance's provision still meets a running operation.
	_, err := e.provision(provisionReq("i1", svcRedis, planFree, true))
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	if inst := e.instance("i1"); inst.PlanID != planFree {
		t.Errorf("while the update runs the record says plan %s; it is still %s", inst.PlanID, planFree)
	}
	e.b.Shutdown()

	// The resumed update adopts the container the interrupted attempt created, and fails to
	// start it.
	e.engine.startGate, e.engine.startEntered = nil, nil
	e.engine.startFunc = func(_ context.Context, c *fakeContainer) error {
		if c.Image == imgTiny {
			return errors.New("image is corrupt")
		}
		return nil
	}
	e.restart()
	e.b.Wait()
	lo := e.lastOp("i1")
	if lo.State != store.Failed || lo.InstanceUsable == nil || !*lo.InstanceUsable {
		t.Errorf("last operation %+v, want failed with the instance usable", lo)
	}
	after := e.instance("i1")
	if after.PlanID != planFree || hostPort(t, after, "6379/tcp") != hostPort(t, before, "6379/tcp") {
		t.Errorf("record after the failed update: plan %s ports %v, want plan %s and the same ports", after.PlanID, after.Ports, planFree)
	}
	if c := e.container("i1"); c.Image != imgRedis || !c.Running {
		t.Errorf("container after the failed update: %s running=%v, want %s running", c.Image, c.Running, imgRedis)
	}
}

func TestQuotaCountsInstanceBeingUpdated(t *testing.T) {
	const imgTiny = "frodenas/redis:3.2-tiny"
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		plan(c.Catalog, planTiny).Container.Tag = "3.2-tiny"
		engine.addImage(imgTiny, "6379/tcp")
	})
	e.mustProvision("a", svcRedis, planFree, "")
	gate := make(chan struct{})
	e.engine.inspectImageFunc = func(ctx context.Context, ref string) error {
		if ref != imgTiny {
			return nil
		}
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// a moves to tiny (max_containers 1); its update waits for the image.
	if _, err := e.update("a", planTiny, "", true); err != nil {
		t.Fatal(err)
	}
	_, err := e.provision(provisionReq("b", svcRedis, planTiny, true))
	wantError(t, err, http.StatusUnprocessableEntity, "", "plan tiny", "max_containers")
	close(gate)
	e.b.Wait()
	if lo := e.lastOp("a"); lo.State != store.Succeeded {
		t.Fatalf("update: %+v", lo)
	}
	all, _ := e.store.Instances()
	tiny := 0
	for _, inst := range all {
		if inst.PlanID == planTiny {
			tiny++
		}
	}
	if tiny != 1 {
		t.Errorf("%d instances of plan tiny, whose max_containers is 1", tiny)
	}
}

// ---- bind ----

func TestBindIdempotentAndConflicting(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planTiny, "")
	first, err := e.bind("i1", "b1", planTiny, "app-1")
	if err != nil || first.AlreadyExists {
		t.Fatalf("bind: %+v %v", first, err)
	}
	again, err := e.bind("i1", "b1", planTiny, "app-1")
	if err != nil || !again.AlreadyExists || string(again.Credentials) != string(first.Credentials) {
		t.Errorf("identical bind: %+v %v, want 200 with the same credentials %s", again, err, first.Credentials)
	}
	got, err := e.b.GetBinding(context.Background(), "i1", "b1")
	if err != nil || string(got.Credentials) != string(first.Credentials) {
		t.Errorf("GET binding: %s %v", got.Credentials, err)
	}
	_, err = e.bind("i1", "b1", planTiny, "app-2")
	wantError(t, err, http.StatusConflict, "")
	_, err = e.bind("never", "b1", planTiny, "app-1")
	wantError(t, err, http.StatusNotFound, "")
	_, err = e.bind("i1", "b2", planFree, "app-1") // not the instance's plan
	wantError(t, err, http.StatusBadRequest, "")
	// Unbind, then the binding id is gone.
	if err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"}); err != nil {
		t.Fatal(err)
	}
	err = e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"})
	wantError(t, err, http.StatusGone, "")
}

func TestBindWhileProvisioningIsConcurrencyError(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.startGate = make(chan struct{})
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	_, err := e.bind("i1", "b1", planFree, "app")
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	close(e.engine.startGate)
	e.b.Wait()
	if _, err := e.bind("i1", "b1", planFree, "app"); err != nil {
		t.Errorf("bind once provisioned: %v", err)
	}
}

func TestBindCredentialsShape(t *testing.T) {
	const password = "p@ss:w/rd?#%"
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		plan(c.Catalog, planTiny).Credentials.Password.Value = password
	})
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	port := hostPort(t, inst, "6379/tcp")
	resp, err := e.bind("i1", "b1", planTiny, "app")
	if err != nil {
		t.Fatal(err)
	}
	var creds map[string]any
	if err := json.Unmarshal(resp.Credentials, &creds); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"hostname": externalHost, "host": externalHost, "port": port,
		"ports": map[string]any{"6379/tcp": port}, "password": password,
	}
	for k, v := range want {
		if fmt.Sprint(creds[k]) != fmt.Sprint(v) {
			t.Errorf("credentials[%s] = %#v, want %#v", k, creds[k], v)
		}
	}
	if _, isString := creds["port"].(string); !isString {
		t.Errorf("port %#v is not a string", creds["port"])
	}
	uri, _ := creds["uri"].(string)
	u, err := url.Parse(uri)
	if err != nil || strings.Contains(uri, password) {
		t.Fatalf("uri %q: %v (the password must be escaped)", uri, err)
	}
	if pw, _ := u.User.Password(); u.Scheme != "redis" || u.Host != externalHost+":"+port || pw != password {
		t.Errorf("uri %q: scheme %s host %s password %q", uri, u.Scheme, u.Host, pw)
	}
	if len(resp.Endpoints) != 1 || resp.Endpoints[0].Host != externalHost || !slices.Equal(resp.Endpoints[0].Ports, []string{port}) || resp.Endpoints[0].Protocol != "tcp" {
		t.Errorf("endpoints %+v", resp.Endpoints)
	}
	// The container got the same password.
	if v, _ := envOf(e.container("i1"), "REDIS_PASSWORD"); v != password {
		t.Errorf("container password %q", v)
	}
}

func TestBindPasswordsDifferPerInstance(t *testing.T) {
	e := newEnv(t, nil)
	secret := regexp.MustCompile(`^[a-z0-9]{24}$`)
	var passwords []string
	for _, id := range []string{"i1", "i2"} {
		e.mustProvision(id, svcRedis, planFree, "")
		resp, err := e.bind(id, "b", planFree, "app")
		if err != nil {
			t.Fatal(err)
		}
		var creds struct{ Password string }
		if err := json.Unmarshal(resp.Credentials, &creds); err != nil {
			t.Fatal(err)
		}
		if !secret.MatchString(creds.Password) {
			t.Errorf("password %q is not 24 random [a-z0-9]", creds.Password)
		}
		if v, _ := envOf(e.container(id), "REDIS_PASSWORD"); v != creds.Password {
			t.Errorf("%s: the container's password differs from the binding's", id)
		}
		passwords = append(passwords, creds.Password)
	}
	if passwords[0] == passwords[1] {
		t.Error("two instances got the same password")
	}
}

// ---- parameters and credentials ----

func TestParametersNeverOverrideCredentials(t *testing.T) {
	e := newEnv(t, nil)
	for _, params := range []string{`{"REDIS_PASSWORD":"mine"}`, `{"NAME":"other"}`} {
		req := provisionReq("i1", svcRedis, planTiny, true)
		req.Parameters = json.RawMessage(params)
		_, err := e.provision(req)
		wantError(t, err, http.StatusBadRequest, "")
		// Nor on a plan without a schema.
		req.PlanID = planFree
		_, err = e.provision(req)
		wantError(t, err, http.StatusBadRequest, "")
	}
	e.noRecord("i1")
	inst := e.mustProvision("i1", svcRedis, planTiny, `{"REDIS_MAXMEMORY":"64mb"}`)
	_, err := e.update("i1", "", `{"REDIS_PASSWORD":"mine"}`, true)
	wantError(t, err, http.StatusBadRequest, "")
	c := e.container("i1")
	if v, n := envOf(c, "REDIS_PASSWORD"); v != inst.Credentials.Password || n != 1 {
		t.Errorf("REDIS_PASSWORD set %d times, last %q; want once, the instance's", n, v)
	}
	if v, n := envOf(c, "NAME"); v != "cf-i1" || n != 1 {
		t.Errorf("NAME=%q set %d times", v, n)
	}

	// A schema that declares a credential's key is refused by the catalog, and, should such a
	// plan reach the broker anyway, by the broker at request time.
	bad := `{"service_instance":{"create":{"parameters":{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"REDIS_PASSWORD":{"type":"string"}}}}}}`
	raw, _ := os.ReadFile("testdata/services.json")
	var services []map[string]any
	if err := json.Unmarshal(raw, &services); err != nil {
		t.Fatal(err)
	}
	services[0]["plans"].([]any)[0].(map[string]any)["schemas"] = json.RawMessage(bad)
	edited, _ := json.Marshal(services)
	if _, _, err := catalog.Parse(edited); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD") {
		t.Errorf("catalog with a schema declaring REDIS_PASSWORD: %v", err)
	}
	e2 := newEnv(t, func(c *Config, _ *fakeEngine) { plan(c.Catalog, planFree).Schemas = json.RawMessage(bad) })
	req := provisionReq("x", svcRedis, planFree, true)
	req.Parameters = json.RawMessage(`{"REDIS_PASSWORD":"mine"}`)
	_, err = e2.provision(req)
	wantError(t, err, http.StatusBadRequest, "")
	e2.noRecord("x")
}

// ---- start, reconciliation, shutdown ----

func TestReconcileAtStart(t *testing.T) {
	e := buildEnv(t, nil)
	now := e.clock.Now()
	creds := store.Credentials{Password: "kept-password"}
	put := func(inst store.Instance) {
		inst.ServiceID, inst.OrganizationGUID, inst.SpaceGUID, inst.Credentials, inst.CreatedAt = svcRedis, "o", "s", creds, now
		if inst.PlanID == "" {
			inst.PlanID = planFree
		}
		if err := e.store.PutInstance(inst); err != nil {
			t.Fatal(err)
		}
	}
	labels := func(id string) map[string]string {
		return map[string]string{LabelBroker: brokerName, LabelInstanceID: id, LabelServiceID: svcRedis, LabelPlanID: planFree}
	}
	mkdir := func(name string) {
		if err := os.MkdirAll(filepath.Join(e.cfg.DataDir, name, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	inProgress := func(kind string, attempts int) store.Operation {
		return store.Operation{ID: kind + "-x", Kind: kind, State: store.InProgress, StartedAt: now, Attempts: attempts}
	}
	// resumed: a provision interrupted once.
	put(store.Instance{ID: "resumed", Operation: inProgress(store.Provision, 1)})
	// gaveup: a provision interrupted twice, with a half-made container and directory.
	put(store.Instance{ID: "gaveup", Operation: inProgress(store.Provision, 2)})
	e.engine.putContainer("cf-gaveup", imgRedis, labels("gaveup"), false)
	mkdir("cf-gaveup")
	// recreated: provisioned, its container lost.
	put(store.Instance{ID: "recreated", Provisioned: true, Ports: map[string]string{"6379/tcp": "42777"}, Operation: store.Operation{ID: "p", Kind: store.Provision, State: store.Succeeded}})
	mkdir("cf-recreated")
	// stopped: provisioned, its container stopped.
	put(store.Instance{ID: "stopped", Provisioned: true, Ports: map[string]string{"6379/tcp": "42778"}, Operation: store.Operation{ID: "p", Kind: store.Provision, State: store.Succeeded}})
	stoppedID := e.engine.putContainer("cf-stopped", imgRedis, labels("stopped"), false)
	// deleting: a deprovision interrupted once.
	put(store.Instance{ID: "deleting", Provisioned: true, Ports: map[string]string{"6379/tcp": "42779"}, Operation: inProgress(store.Deprovision, 1)})
	e.engine.putContainer("cf-deleting", imgRedis, labels("deleting"), true)
	mkdir("cf-deleting")
	// orphans: a container and a directory of no record, and another broker's container.
	orphanID := e.engine.putContainer("cf-orphan", imgRedis, labels("orphan"), true)
	otherLabels := labels("theirs")
	otherLabels[LabelBroker] = "another-broker"
	e.engine.putContainer("cf-theirs", imgRedis, otherLabels, true)
	mkdir("cf-lost")

	if err := e.b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()

	if lo := e.lastOp("resumed"); lo.State != store.Succeeded {
		t.Errorf("resumed provision: %+v", lo)
	}
	if inst := e.instance("resumed"); !inst.Provisioned || inst.Operation.Attempts != 2 {
		t.Errorf("resumed record: %+v", inst)
	}
	if c := e.container("resumed"); !c.Running {
		t.Error("resumed instance's container does not run")
	}
	if lo := e.lastOp("gaveup"); lo.State != store.Failed || !strings.Contains(lo.Description, "interrupted") {
		t.Errorf("twice interrupted provision: %+v", lo)
	}
	e.noContainer("gaveup")
	if e.dirExists("gaveup") {
		t.Error("the given-up provision's directory remains")
	}
	c := e.container("recreated")
	if !c.Running || !slices.Equal(c.Spec.Ports, []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostIP: "127.0.0.1", HostPort: "42777"}}) {
		t.Errorf("recreated container: running=%v ports %+v, want port 42777", c.Running, c.Spec.Ports)
	}
	if v, _ := envOf(c, "REDIS_PASSWORD"); v != "kept-password" {
		t.Errorf("recreated container's password %q", v)
	}
	if c := e.container("stopped"); !c.Running || c.ID != stoppedID {
		t.Errorf("stopped container: %+v, want the same one running", c.Container)
	}
	e.noRecord("deleting")
	e.noContainer("deleting")
	if lo := e.lastOp("deleting"); lo.State != store.Succeeded {
		t.Errorf("resumed deprovision: %+v", lo)
	}
	if c, ok := e.engine.container("cf-orphan"); !ok || c.ID != orphanID || !c.Running {
		t.Error("the container without a record was touched")
	}
	if _, err := os.Stat(filepath.Join(e.cfg.DataDir, "cf-lost")); err != nil {
		t.Error("the directory without a record was deleted")
	}

	got, _ := e.b.Reconciliation(context.Background())
	report := got.(Reconciliation)
	check := func(what string, got, want []string) {
		t.Helper()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	check("containers without record", report.ContainersWithoutRecord, []string{"cf-orphan"})
	check("directories without record", report.DirectoriesWithoutRecord, []string{"cf-lost"})
	check("recreated", report.RecreatedContainers, []string{"recreated"})
	check("started", report.StartedContainers, []string{"stopped"})
	check("resumed", report.ResumedOperations, []string{"deleting (deprovision)", "resumed (provision)"})
	check("failed", report.FailedOperations, []string{"gaveup (provision)"})
	check("problems", report.Problems, nil)
}

func TestShutdownLeavesOperationInProgress(t *testing.T) {
	e := newEnv(t, nil)
	e.engine.startGate = make(chan struct{})
	e.engine.startEntered = make(chan string, 4)
	if _, err := e.provision(provisionReq("i1", svcRedis, planFree, true)); err != nil {
		t.Fatal(err)
	}
	<-e.engine.startEntered
	e.b.Shutdown()
	if inst := e.instance("i1"); inst.Operation.State != store.InProgress || inst.Operation.Attempts != 1 || inst.Provisioned {
		t.Fatalf("after shutdown: %+v, want the provision in progress", inst.Operation)
	}

	// Interrupted a second time, it gives up.
	e.restart() // resumes (attempt 2), which blocks at start again
	<-e.engine.startEntered
	e.b.Shutdown()
	if inst := e.instance("i1"); inst.Operation.State != store.InProgress || inst.Operation.Attempts != 2 {
		t.Fatalf("after the second shutdown: %+v", inst.Operation)
	}
	e.engine.startGate, e.engine.startEntered = nil, nil
	e.restart()
	e.b.Wait()
	if lo := e.lastOp("i1"); lo.State != store.Failed {
		t.Errorf("after two interruptions: %+v, want failed", lo)
	}
	e.noContainer("i1")

	// The platform cleans up and provisions again; interrupted once, the next start finishes it.
	if _, err := e.deprovision("i1", false); err != nil {
		t.Fatal(err)
	}
	e.engine.startGate = make(chan struct{})
	e.engine.startEntered = make(chan string, 4)
	resp, err := e.provision(provisionReq("i2", svcRedis, planFree, true))
	if err != nil {
		t.Fatal(err)
	}
	<-e.engine.startEntered
	e.b.Shutdown()
	e.engine.startGate, e.engine.startEntered = nil, nil
	e.restart()
	e.b.Wait()
	if lo := e.lastOp("i2"); lo.State != store.Succeeded {
		t.Errorf("resumed provision: %+v", lo)
	}
	if inst := e.instance("i2"); inst.Operation.ID != resp.Operation || inst.Operation.Attempts != 2 {
		t.Errorf("resumed operation %+v, want %s on attempt 2", inst.Operation, resp.Operation)
	}
	if again, err := e.provision(provisionReq("i2", svcRedis, planFree, true)); err != nil || !again.AlreadyExists {
		t.Errorf("identical PUT after the resumed provision: %+v %v", again, err)
	}
	if n := e.engine.containerCount(); n != 1 {
		t.Errorf("%d containers, want 1", n)
	}
}

func TestFetchImagesInBackground(t *testing.T) {
	gate := make(chan struct{})
	e := buildEnv(t, func(c *Config, engine *fakeEngine) {
		c.FetchImages = true
		engine.images = map[string]dockerengine.Image{}
		engine.addRemoteImage(imgRedis, "6379/tcp")
		engine.addRemoteImage(imgMySQL, "3306/tcp") // postgres cannot be pulled
		engine.pullFunc = func(ctx context.Context, _ string) error {
			select {
			case <-gate:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	started := make(chan error, 1)
	go func() { started <- e.b.Start(context.Background()) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(gate)
		t.Fatal("Start waited for the image pulls")
	}
	if e.engine.hasImage(imgRedis) {
		t.Fatal("image present before the pull was released")
	}
	close(gate)
	e.b.Wait()
	for _, ref := range []string{imgRedis, imgMySQL} {
		if !e.engine.hasImage(ref) {
			t.Errorf("%s was not fetched", ref)
		}
	}
	for ref, want := range map[string]int{imgRedis: 1, imgPg: 1, imgMySQL: 1} {
		if got := e.engine.pullCount(ref); got != want {
			t.Errorf("%d pulls of %s, want %d", got, ref, want)
		}
	}
}

func TestRetentionMovesAndPurges(t *testing.T) {
	var retained string
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		retained = filepath.Join(filepath.Dir(c.DataDir), "retained")
		c.RetentionDir, c.Retention = retained, 24*time.Hour
		c.HousekeepingInterval = time.Millisecond
	})
	e.mustProvision("i1", svcRedis, planFree, "")
	if err := os.WriteFile(filepath.Join(e.cfg.DataDir, "cf-i1", "data", "dump.rdb"), []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	deletedAt := e.clock.Now()
	if _, err := e.deprovision("i1", false); err != nil {
		t.Fatal(err)
	}
	if e.dirExists("i1") {
		t.Error("the instance directory is still in the data directory")
	}
	kept := filepath.Join(retained, fmt.Sprintf("cf-i1-%d", deletedAt.Unix()))
	if data, err := os.ReadFile(filepath.Join(kept, "data", "dump.rdb")); err != nil || string(data) != "data" {
		t.Fatalf("retained data: %q %v", data, err)
	}
	unrelated := filepath.Join(retained, "notes")
	if err := os.WriteFile(unrelated, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	// Housekeeping purges while the broker runs, not only at its start.
	e.clock.Advance(23 * time.Hour)
	time.Sleep(20 * e.cfg.HousekeepingInterval)
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("retained data purged before the retention period ended: %v", err)
	}
	e.clock.Advance(2 * time.Hour)
	waitFor(t, func() bool {
		_, err := os.Stat(kept)
		return os.IsNotExist(err)
	})
	if _, err := os.Stat(unrelated); err != nil {
		t.Errorf("a file of another name was purged: %v", err)
	}
}
