package metrics

import (
	"context"
	"slices"
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
	// Nodes are the machines of an engine of several (a swarm), in name order; none on a plain
	// engine. NodesErr, when set, says why the engine could not list them.
	Nodes    []Node
	NodesErr error
}

// States are the instance states every plan has a series for: InstanceStates, and NodeDown
// when the engine has nodes.
func (s Snapshot) States() []string {
	if len(s.Nodes) == 0 {
		return InstanceStates
	}
	return append(slices.Clone(InstanceStates), NodeDown)
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

// Node is one machine of an engine of several.
type Node struct {
	// Name is the node's hostname, else its id shortened; ID is the engine's id of it.
	Name, ID string
	// Address is where apps reach the ports the node publishes.
	Address string
	// State is "ready", "drained" or "paused" (it takes no new instance) while the managers
	// hear from the node; else theirs ("down", "disconnected", "unknown"), or "missing" when
	// the engine no longer lists a node that instances are recorded on.
	State string
	// Up is whether the managers hear from the node.
	Up bool
	// Instances are the instances recorded on the node that hold a container, against the
	// per-node maximum (0: none).
	Instances Capacity
	// MemoryReserved is what their plans reserve and Memory the node's own, in bytes.
	MemoryReserved, Memory int64
}

// InstanceStates are the states of an instance on any engine. Every plan has a series for each
// (and for NodeDown on a swarm: Snapshot.States), at 0 when none of its instances is in it.
var InstanceStates = []string{"provisioning", "updating", "deprovisioning", "ready", "failed"}

// NodeDown is the state of an instance that would be ready but whose node is not up: its
// container is out of reach. Only an engine of several machines has it.
const NodeDown = "node down"

// scrapeTimeout bounds how long a scrape waits for the state file and the engine.
const scrapeTimeout = 10 * time.Second

// CollectState adds the broker's state, read at every scrape, to the registry.
func (m *Metrics) CollectState(s State) {
	m.registry.MustRegister(&stateCollector{state: s})
}

var (
	instancesDesc = prometheus.NewDesc(namespace+"_instances",
		"Service instances by service, plan and state (provisioning, updating, deprovisioning, ready, failed: the last operation failed and the instance is not usable; node down: ready but on a swarm node that is down).",
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
	nodeUpDesc = prometheus.NewDesc(namespace+"_node_up",
		"Per swarm node (by hostname): 1 while the swarm's managers hear from it, 0 when it is down. No series on a plain engine.",
		[]string{"node", "state"}, nil)
	nodeInstancesDesc = prometheus.NewDesc(namespace+"_node_instances",
		"Per swarm node: the instances recorded on it that hold a container.",
		[]string{"node"}, nil)
	nodeInstancesLimitDesc = prometheus.NewDesc(namespace+"_node_instances_limit",
		"The maximum of instances per swarm node; no series where there is none.",
		[]string{"node"}, nil)
	nodeMemoryReservedDesc = prometheus.NewDesc(namespace+"_node_memory_reserved_bytes",
		"Per swarm node: the memory the plans of its instances reserve.",
		[]string{"node"}, nil)
	nodeMemoryDesc = prometheus.NewDesc(namespace+"_node_memory_bytes",
		"Per swarm node: its memory, which reservations are made against.",
		[]string{"node"}, nil)
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
		for _, state := range snap.States() {
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

	c.collectNodes(ch, snap)

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

// collectNodes turns the snapshot's nodes into gauges. Nodes the engine did not list are left
// out of the scrape, which logs why.
func (c *stateCollector) collectNodes(ch chan<- prometheus.Metric, snap Snapshot) {
	if snap.NodesErr != nil {
		ch <- prometheus.NewInvalidMetric(nodeUpDesc, snap.NodesErr)
		return
	}
	gauge := func(desc *prometheus.Desc, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, value, labels...)
	}
	for _, n := range snap.Nodes {
		up := 0.0
		if n.Up {
			up = 1
		}
		gauge(nodeUpDesc, up, n.Name, n.State)
		gauge(nodeInstancesDesc, float64(n.Instances.Used), n.Name)
		if n.Instances.Limit > 0 {
			gauge(nodeInstancesLimitDesc, float64(n.Instances.Limit), n.Name)
		}
		gauge(nodeMemoryReservedDesc, float64(n.MemoryReserved), n.Name)
		gauge(nodeMemoryDesc, float64(n.Memory), n.Name)
	}
}
