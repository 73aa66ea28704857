package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is what the broker tells of its fleet at a scrape (package broker implements it).
type State interface {
	MetricsState(ctx context.Context) (Snapshot, error)
}

// Snapshot is the fleet at one moment.
type Snapshot struct {
	// Plans are every plan of the catalog, so that each has its series, at 0 when it has no
	// instance, and its capacity.
	Plans []Plan
	// Capacity is the broker's: instances that hold a container and max_containers.
	Capacity Capacity
	// Instances are the instance records, one each.
	Instances []Instance
	// Containers are the engine's containers of this broker; EngineErr, when set, says why the
	// engine could not list them.
	Containers []Container
	EngineErr  error
}

// Plan is a plan of the catalog, by its service's and its own name.
type Plan struct {
	Service, Plan string
	Capacity      Capacity
}

// Capacity is how many instances count against a max_containers limit, and the limit (0 when
// there is none).
type Capacity struct {
	Used, Limit int
}

// Instance is one instance record: its plan, its state ("provisioning", "updating",
// "deprovisioning", "ready", "failed") and how many bindings it has.
type Instance struct {
	Service, Plan, State string
	Bindings             int
}

// Container is one container of the broker: its instance's plan, the engine's state of it
// ("running", "restarting", "exited", ...) and its image's HEALTHCHECK status ("healthy",
// "unhealthy", "starting", "none").
type Container struct {
	Service, Plan, State, Health string
}

// InstanceStates are the states every plan has a series for, at 0 when none of its instances is
// in it.
var InstanceStates = []string{"provisioning", "updating", "deprovisioning", "ready", "failed"}

// scrapeTimeout bounds how long a scrape waits for the state file and the engine.
const scrapeTimeout = 10 * time.Second

// CollectState adds the broker's state, read at every scrape, to the registry.
func (m *Metrics) CollectState(s State) {
	m.registry.MustRegister(&stateCollector{state: s})
}

var (
	instancesDesc = prometheus.NewDesc(namespace+"_instances",
		"Service instances by service, plan and state (provisioning, updating, deprovisioning, ready, failed: the last operation failed and the instance is not usable).",
		[]string{"service", "plan", "state"}, nil)
	bindingsDesc = prometheus.NewDesc(namespace+"_bindings",
		"Bindings and service keys by service and plan.",
		[]string{"service", "plan"}, nil)
	capacityUsedDesc = prometheus.NewDesc(namespace+"_capacity_used",
		"Instances that count against a max_containers limit: scope broker (the broker's max_containers, all plans) or plan (the plan's own).",
		[]string{"scope", "service", "plan"}, nil)
	capacityLimitDesc = prometheus.NewDesc(namespace+"_capacity_limit",
		"The max_containers limit of the scope; no series where there is no limit.",
		[]string{"scope", "service", "plan"}, nil)
	containersDesc = prometheus.NewDesc(namespace+"_containers",
		"The broker's containers on the engine by service, plan, the engine's state (running, restarting, exited, ...) and health (the image's HEALTHCHECK: healthy, unhealthy, starting, none).",
		[]string{"service", "plan", "state", "health"}, nil)
	engineUpDesc = prometheus.NewDesc(namespace+"_engine_up",
		"1 when the Docker Engine listed the broker's containers at this scrape, 0 when it did not answer (the container figures are then missing).",
		nil, nil)
)

// stateCollector turns a Snapshot into gauges at every scrape. It is unchecked (it describes
// nothing): which series exist depends on the catalog and the fleet.
type stateCollector struct {
	state State
}

func (c *stateCollector) Describe(chan<- *prometheus.Desc) {}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	snap, err := c.state.MetricsState(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(instancesDesc, err)
		return
	}
	gauge := func(desc *prometheus.Desc, value int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(value), labels...)
	}

	type planKey struct{ service, plan string }
	type stateKey struct{ service, plan, state string }
	instances, bindings := map[stateKey]int{}, map[planKey]int{}
	for _, p := range snap.Plans {
		for _, state := range InstanceStates {
			instances[stateKey{p.Service, p.Plan, state}] = 0
		}
		bindings[planKey{p.Service, p.Plan}] = 0
	}
	for _, inst := range snap.Instances {
		instances[stateKey{inst.Service, inst.Plan, inst.State}]++
		bindings[planKey{inst.Service, inst.Plan}] += inst.Bindings
	}
	for k, n := range instances {
		gauge(instancesDesc, n, k.service, k.plan, k.state)
	}
	for k, n := range bindings {
		gauge(bindingsDesc, n, k.service, k.plan)
	}

	capacity := func(scope, service, plan string, c Capacity) {
		gauge(capacityUsedDesc, c.Used, scope, service, plan)
		if c.Limit > 0 {
			gauge(capacityLimitDesc, c.Limit, scope, service, plan)
		}
	}
	capacity("broker", "", "", snap.Capacity)
	for _, p := range snap.Plans {
		capacity("plan", p.Service, p.Plan, p.Capacity)
	}

	if snap.EngineErr != nil {
		gauge(engineUpDesc, 0)
		return
	}
	gauge(engineUpDesc, 1)
	type containerKey struct{ service, plan, state, health string }
	containers := map[containerKey]int{}
	for _, ct := range snap.Containers {
		containers[containerKey{ct.Service, ct.Plan, ct.State, ct.Health}]++
	}
	for k, n := range containers {
		gauge(containersDesc, n, k.service, k.plan, k.state, k.health)
	}
}
