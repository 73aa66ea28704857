package sanitytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sanitytest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The redis32 offering of services/op-redis32.yml.
const (
	redisService = "0fdcc9c0-14f5-11e7-9d8c-cfde16aa4822"
	redisPlan    = "13d21792-14f5-11e7-81cd-4357fa4eeda9"
	redisImage   = "frodenas/redis:3.2"
)

// errand is a real broker on the test binary's dockerd with the catalog services, and the
// sanity-test errand's config and clients for it.
type errand struct {
	broker *brokertest.Broker
	cfg    sanitytest.Config
	client *osbclient.Client
	engine *recordingEngine
}

func newErrand(t *testing.T, services []byte) *errand {
	t.Helper()
	brokertest.LoadStandins(t, services)
	b := brokertest.Start(t, services, func(c *broker.Config) {
		c.PortRange = [2]int{25350, 25399} // this package's host ports: other test binaries run beside it
	})
	cfg := sanitytest.Config{
		Errand:       sanitytest.ErrandName,
		Broker:       osbclient.Endpoint{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password},
		DockerSocket: b.Docker.Socket,
		Services:     services,
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	client := osbclient.New(osbclient.Config{URL: b.URL, Username: brokertest.Username, Password: brokertest.Password, PollInterval: 200 * time.Millisecond})
	return &errand{broker: b, cfg: cfg, client: client, engine: &recordingEngine{Client: b.Docker.Engine}}
}

// run runs the errand and returns its table and error.
func (e *errand) run(ctx context.Context) (string, error) {
	var out bytes.Buffer
	err := sanitytest.Run(ctx, e.cfg, e.client, e.engine, &out)
	return out.String(), err
}

// requireNothingLeft fails t if the broker has an instance, or the engine a container of an
// instance or of a check.
func (e *errand) requireNothingLeft(t *testing.T) {
	t.Helper()
	instances, err := e.broker.Store.Instances()
	if err != nil {
		t.Fatal(err)
	}
	for _, inst := range instances {
		t.Errorf("the broker still has instance %s", inst.ID)
	}
	containers, err := e.broker.Docker.Engine.ListContainers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range containers {
		if c.Labels[broker.LabelBroker] == e.broker.Config.Name || c.Labels[sanitytest.LabelPlan] != "" {
			t.Errorf("container %s is left", c.Name)
		}
	}
}

// recordingEngine is the real engine, remembering the check containers it was asked to
// create and the files written into them.
type recordingEngine struct {
	*dockerengine.Client
	mu    sync.Mutex
	specs []dockerengine.ContainerSpec
	files []dockerengine.File
}

func (r *recordingEngine) CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error) {
	r.mu.Lock()
	r.specs = append(r.specs, spec)
	r.mu.Unlock()
	return r.Client.CreateContainer(ctx, spec)
}

func (r *recordingEngine) WriteFiles(ctx context.Context, id, dir string, files []dockerengine.File) error {
	r.mu.Lock()
	r.files = append(r.files, files...)
	r.mu.Unlock()
	return r.Client.WriteFiles(ctx, id, dir, files)
}

// passwords are the contents of the password files written into check containers.
func (r *recordingEngine) passwords() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var list []string
	for _, f := range r.files {
		if strings.HasSuffix(f.Path, "/password") {
			list = append(list, string(f.Content))
		}
	}
	return list
}

// TestSeedOfferingsPassAndLeaveNothing runs the errand on the seed's offerings (redis32,
// postgresql96, mysql56 with their services files' checks): each plan is provisioned, bound,
// checked from a throwaway container of its image with the binding's credentials, unbound and
// deprovisioned; the credentials reach the checks as files only.
func TestSeedOfferingsPassAndLeaveNothing(t *testing.T) {
	e := newErrand(t, brokertest.Services(t, "services/op-redis32.yml", "services/op-postgresql96.yml", "services/op-mysql56.yml"))
	out, err := e.run(context.Background())
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("the errand failed: %v\nbroker log:\n%s", err, e.broker.Logs)
	}
	for _, plan := range []string{"redis32/free", "postgresql96/free", "mysql56/free"} {
		for _, step := range []string{"provision", "bind", "check", "unbind", "deprovision"} {
			if !hasRow(out, plan, step, "ok") {
				t.Errorf("no row %s %s ok", plan, step)
			}
		}
	}
	if !strings.Contains(out, "3 plans passed") {
		t.Error("no summary line")
	}
	e.requireNothingLeft(t)

	passwords := e.engine.passwords()
	if len(passwords) != 3 {
		t.Fatalf("%d password files written, want one per check", len(passwords))
	}
	specs, _ := json.Marshal(e.engine.specs)
	for _, password := range passwords {
		if strings.Contains(string(specs), password) {
			t.Errorf("a binding's password is in a check container's spec (argv or environment): %s", specs)
		}
		if strings.Contains(out, password) {
			t.Error("a binding's password is in the errand's output")
		}
	}
}

// TestCurrentOfferingsPassTheirSanityChecks runs the errand on the first plan of every current
// offering whose services file has a sanity check and whose image has a stand-in here.
func TestCurrentOfferingsPassTheirSanityChecks(t *testing.T) {
	services := brokertest.Services(t, "services/op-postgresql17.yml", "services/op-postgresql18.yml", "services/op-postgis.yml",
		"services/op-mysql84.yml", "services/op-mariadb11.yml", "services/op-redis74.yml", "services/op-redis8.yml",
		"services/op-valkey8.yml", "services/op-memcached16.yml", "services/op-influxdb1.yml")
	e := newErrand(t, services)
	var offerings []struct {
		Name        string
		SanityCheck any `json:"sanity_check"`
		Plans       []struct{ Name string }
	}
	if err := json.Unmarshal(services, &offerings); err != nil {
		t.Fatal(err)
	}
	for _, o := range offerings {
		if o.SanityCheck == nil {
			t.Errorf("%s has no sanity check", o.Name)
		}
		e.cfg.Plans = append(e.cfg.Plans, o.Name+"/"+o.Plans[0].Name)
	}
	out, err := e.run(context.Background())
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("the errand failed: %v", err)
	}
	for _, plan := range e.cfg.Plans {
		if !hasRow(out, plan, "check", "ok") {
			t.Errorf("no row %s check ok", plan)
		}
	}
	e.requireNothingLeft(t)
}

// TestFailingCheckFailsTheErrandAndLeavesNothing: a check that exits non-zero fails its plan
// and the errand, shows its output with the secrets redacted, and the instance, binding and
// check container are removed all the same.
func TestFailingCheckFailsTheErrandAndLeavesNothing(t *testing.T) {
	services := withCheck(t, brokertest.Services(t, "services/op-redis32.yml"),
		`echo "wrong password $(cat "$CREDENTIALS_DIR/password")"; exit 3`)
	e := newErrand(t, services)
	out, err := e.run(context.Background())
	t.Logf("\n%s", out)
	if err == nil {
		t.Fatal("the errand passed with a failing check")
	}
	if !hasRow(out, "redis32/free", "check", "FAILED: the check (sh -c) exited with status 3") {
		t.Error("no failed check row")
	}
	if !strings.Contains(out, "| wrong password [redacted]") {
		t.Error("the check's output is not shown, redacted")
	}
	for _, password := range e.engine.passwords() {
		if strings.Contains(out, password) {
			t.Error("the binding's password is in the errand's output")
		}
	}
	for _, step := range []string{"unbind", "deprovision"} {
		if !hasRow(out, "redis32/free", step, "ok") {
			t.Errorf("no row %s ok after the failed check", step)
		}
	}
	if !strings.Contains(out, "1 of 1 plans FAILED: redis32/free") {
		t.Error("no summary of the failure")
	}
	e.requireNothingLeft(t)
}

// TestStoppedErrandCleansUp: an errand stopped while a check runs (SIGTERM cancels its
// context) still removes the check container, unbinds and deprovisions, and fails.
func TestStoppedErrandCleansUp(t *testing.T) {
	e := newErrand(t, withCheck(t, brokertest.Services(t, "services/op-redis32.yml"), "sleep 3600"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Stop the errand once its check container runs.
		for ctx.Err() == nil {
			if checkRunning(e.broker.Docker.Engine) {
				cancel()
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	out, err := e.run(ctx)
	t.Logf("\n%s", out)
	if err == nil {
		t.Fatal("a stopped errand passed")
	}
	if !hasRow(out, "redis32/free", "check", "FAILED") {
		t.Error("the interrupted check is not a failure")
	}
	for _, step := range []string{"unbind", "deprovision"} {
		if !hasRow(out, "redis32/free", step, "ok") {
			t.Errorf("no row %s ok after the stop", step)
		}
	}
	e.requireNothingLeft(t)
}

// TestRunRemovesWhatAKilledRunLeft: a run killed outright (SIGKILL) leaves its instance, its
// binding and its check container; the next run removes them first, then passes.
func TestRunRemovesWhatAKilledRunLeft(t *testing.T) {
	e := newErrand(t, brokertest.Services(t, "services/op-redis32.yml"))
	ctx := context.Background()
	id := sanitytest.IDPrefix + redisPlan
	if err := e.client.Provision(ctx, osbapi.ProvisionRequest{InstanceID: id, ServiceID: redisService, PlanID: redisPlan, OrganizationGUID: "o", SpaceGUID: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Bind(ctx, osbapi.BindRequest{InstanceID: id, BindingID: id, ServiceID: redisService, PlanID: redisPlan}); err != nil {
		t.Fatal(err)
	}
	leftover, err := e.broker.Docker.Engine.CreateContainer(ctx, dockerengine.ContainerSpec{
		Name: id, Image: redisImage, Entrypoint: []string{"sleep", "3600"}, Labels: map[string]string{sanitytest.LabelPlan: redisPlan},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.broker.Docker.Engine.StartContainer(ctx, leftover); err != nil {
		t.Fatal(err)
	}

	out, err := e.run(ctx)
	t.Logf("\n%s", out)
	if err != nil {
		t.Fatalf("the errand failed after a killed run: %v\nbroker log:\n%s", err, e.broker.Logs)
	}
	if !hasRow(out, "redis32/free", "clean up", "ok") {
		t.Error("no row of the clean-up of the killed run's instance")
	}
	if !hasRow(out, "redis32/free", "check", "ok") {
		t.Error("the check did not pass after the clean-up")
	}
	e.requireNothingLeft(t)
}

// withCheck gives the first service of services the sanity check `sh -c script`.
func withCheck(t *testing.T, services []byte, script string) []byte {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(services, &list); err != nil {
		t.Fatal(err)
	}
	list[0]["sanity_check"] = map[string]any{"command": []string{"sh", "-c", script}}
	out, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRunning tells whether a check container runs on engine.
func checkRunning(engine *dockerengine.Client) bool {
	containers, err := engine.ListContainers(context.Background(), nil)
	if err != nil {
		return false
	}
	for _, c := range containers {
		if c.Labels[sanitytest.LabelPlan] != "" && c.Running {
			return true
		}
	}
	return false
}

var hasRow = sanitytest.HasRow
