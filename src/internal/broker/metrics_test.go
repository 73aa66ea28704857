package broker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// fakeObserver records what the broker tells its Observer, one line each.
type fakeObserver struct {
	mu     sync.Mutex
	events []string
}

func (o *fakeObserver) record(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, fmt.Sprintf(format, args...))
}

func (o *fakeObserver) OperationEnded(kind, service, plan, outcome string, took time.Duration) {
	o.record("%s %s/%s %s %s", kind, service, plan, outcome, took)
}

func (o *fakeObserver) ImagePullFailed(image, during string) {
	o.record("pull of %s failed during %s", image, during)
}

func (o *fakeObserver) ContainerEvent(service, plan, event string) {
	o.record("container of %s/%s %s", service, plan, event)
}

func (o *fakeObserver) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.events)
}

func TestTheObserverLearnsHowEveryOperationEndedAndWhatItTook(t *testing.T) {
	obs := &fakeObserver{}
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		c.Observer = obs
		delete(engine.images, imgPg) // and no registry has it
	})
	// The clock moves while an operation runs: its duration is the broker's clock's.
	e.engine.afterStart = func(*fakeContainer) { e.clock.Advance(3 * time.Second) }
	e.mustProvision("i1", svcRedis, planFree, "")
	if _, err := e.provision(provisionReq("i2", svcPostgres, planPg, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	if _, err := e.bind("i1", "b1", planFree, "app"); err != nil {
		t.Fatal(err)
	}
	if err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1", ServiceID: svcRedis, PlanID: planFree}); err != nil {
		t.Fatal(err)
	}
	// Refused requests are no operations: they show in the HTTP metrics only.
	if _, err := e.bind("i1", "b2", planTiny, "app"); err == nil {
		t.Fatal("a bind with another plan than the instance's was accepted")
	}
	if _, err := e.deprovision("i1", true); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()

	want := []string{
		"provision redis32/free succeeded 3s",
		"pull of frodenas/postgresql:9.6 failed during container_creation",
		"provision postgresql96/free failed 0s",
		"bind redis32/free succeeded 0s",
		"unbind redis32/free succeeded 0s",
		"deprovision redis32/free succeeded 0s",
	}
	if got := obs.seen(); !slices.Equal(got, want) {
		t.Errorf("observed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTheObserverCountsFailedBackgroundFetches(t *testing.T) {
	obs := &fakeObserver{}
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		c.Observer = obs
		c.FetchImages = true
		delete(engine.images, imgMySQL) // and no registry has it
	})
	e.b.Wait()
	if got, want := obs.seen(), []string{"pull of frodenas/mysql:5.6 failed during fetch_images"}; !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q", got, want)
	}
}

func TestTheObserverCountsContainerEventsNoOperationCaused(t *testing.T) {
	obs := &fakeObserver{}
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		c.Observer = obs
		engine.events = make(chan dockerengine.ContainerEvent)
	})
	e.mustProvision("i1", svcRedis, planTiny, "")
	labels := map[string]string{LabelBroker: brokerName, LabelInstanceID: "i1"}
	for _, action := range []string{"die", "start", "oom", "restart", "exec_start"} {
		e.engine.events <- dockerengine.ContainerEvent{Action: action, Name: "cf-i1", Labels: labels}
	}
	// A container without a record is none of the broker's instances.
	e.engine.events <- dockerengine.ContainerEvent{Action: "die", Name: "cf-x", Labels: map[string]string{LabelBroker: brokerName, LabelInstanceID: "x"}}
	// The unbuffered channel hands over one event at a time: once this one is taken, the
	// ones before it have been handled.
	e.engine.events <- dockerengine.ContainerEvent{Action: "exec_start", Name: "cf-i1", Labels: labels}
	want := []string{"container of redis32/tiny died", "container of redis32/tiny restarted", "container of redis32/tiny oom", "container of redis32/tiny restarted"}
	got := obs.seen()[1:] // after the provision
	if !slices.Equal(got, want) {
		t.Errorf("observed %q, want %q", got, want)
	}
}

func TestMetricsStateIsTheStateFilesAndTheEnginesFleet(t *testing.T) {
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		c.MaxContainers = 10
		delete(engine.images, imgPg)
	})
	e.mustProvision("i1", svcRedis, planFree, "")
	e.mustProvision("i2", svcRedis, planFree, "")
	e.mustProvision("i3", svcRedis, planTiny, "")
	if _, err := e.provision(provisionReq("i4", svcPostgres, planPg, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	for _, b := range []string{"b1", "b2"} {
		if _, err := e.bind("i1", b, planFree, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.bind("i3", "b3", planTiny, "app"); err != nil {
		t.Fatal(err)
	}
	e.engine.mu.Lock()
	e.engine.lookupLocked(containerName("i1")).Health = "unhealthy"
	e.engine.lookupLocked(containerName("i2")).State = "restarting"
	e.engine.mu.Unlock()

	snap, err := e.b.MetricsState(context.Background())
	if err != nil || snap.EngineErr != nil {
		t.Fatal(err, snap.EngineErr)
	}
	if snap.Capacity != (metrics.Capacity{Used: 3, Limit: 10}) {
		t.Errorf("broker capacity %+v, want 3 of 10 (the failed provision holds no container)", snap.Capacity)
	}
	wantPlans := []metrics.Plan{
		{Service: "redis32", Plan: "free", Capacity: metrics.Capacity{Used: 2}},
		{Service: "redis32", Plan: "tiny", Capacity: metrics.Capacity{Used: 1, Limit: 1}},
		{Service: "postgresql96", Plan: "free"},
		{Service: "mysql56", Plan: "free"},
	}
	if !slices.Equal(snap.Plans, wantPlans) {
		t.Errorf("plans %+v, want %+v", snap.Plans, wantPlans)
	}
	instances := map[string]int{}
	bindings := 0
	for _, inst := range snap.Instances {
		instances[inst.Service+"/"+inst.Plan+" "+inst.State]++
		bindings += inst.Bindings
	}
	if want := map[string]int{"redis32/free ready": 2, "redis32/tiny ready": 1, "postgresql96/free failed": 1}; fmt.Sprint(instances) != fmt.Sprint(want) {
		t.Errorf("instances %v, want %v", instances, want)
	}
	if bindings != 3 {
		t.Errorf("%d bindings, want 3", bindings)
	}
	containers := map[string]int{}
	for _, c := range snap.Containers {
		containers[c.Service+"/"+c.Plan+" "+c.State+" "+c.Health]++
	}
	if want := map[string]int{"redis32/free running unhealthy": 1, "redis32/free restarting ": 1, "redis32/tiny running ": 1}; fmt.Sprint(containers) != fmt.Sprint(want) {
		t.Errorf("containers %v, want %v", containers, want)
	}
}

func TestInstanceStatesForMetrics(t *testing.T) {
	unusable, usable := false, true
	for _, c := range []struct {
		inst store.Instance
		want string
	}{
		{store.Instance{Operation: store.Operation{Kind: store.Provision, State: store.InProgress}}, "provisioning"},
		{store.Instance{Provisioned: true, Operation: store.Operation{Kind: store.Update, State: store.InProgress}}, "updating"},
		{store.Instance{Provisioned: true, Operation: store.Operation{Kind: store.Deprovision, State: store.InProgress}}, "deprovisioning"},
		{store.Instance{Provisioned: true, Operation: store.Operation{Kind: store.Provision, State: store.Succeeded}}, "ready"},
		{store.Instance{Provisioned: true, Operation: store.Operation{Kind: store.Update, State: store.Failed, InstanceUsable: &usable}}, "ready"},
		{store.Instance{Operation: store.Operation{Kind: store.Provision, State: store.Failed}}, "failed"},
		{store.Instance{Provisioned: true, Operation: store.Operation{Kind: store.Deprovision, State: store.Failed, InstanceUsable: &unusable}}, "failed"},
	} {
		if got := instanceState(c.inst); got != c.want {
			t.Errorf("%+v: %s, want %s", c.inst.Operation, got, c.want)
		}
	}
}
