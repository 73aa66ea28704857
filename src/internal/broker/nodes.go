package broker

import (
	"cmp"
	"context"
	"slices"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// NodeLister is an engine of several machines (package swarm) that tells what they are, so
// that the dashboard and the metrics show each with its instances and the memory they reserve.
type NodeLister interface {
	// Nodes are the machines now, each with the address where apps reach its ports in Addr.
	Nodes(ctx context.Context) ([]dockerengine.Node, error)
	// MaxContainersPerNode is how many instances one machine takes at most; 0 is unlimited.
	MaxContainersPerNode() int
}

// nodeMissing is the state of a machine that instances are recorded on and the engine no
// longer lists (it left the swarm).
const nodeMissing = "missing"

// fleetNodes is every machine of an engine of several, in name order, with the instances of all
// recorded on it that hold a container and the memory their plans reserve; nil on an engine of
// one machine. The broker counts from its records, as its quotas do: a machine's figures are
// the broker's instances, not what others run there.
func (b *Broker) fleetNodes(ctx context.Context, all []store.Instance) ([]metrics.Node, error) {
	lister, ok := b.engine.(NodeLister)
	if !ok {
		return nil, nil
	}
	listed, err := lister.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	limit := lister.MaxContainersPerNode()
	nodes := make([]metrics.Node, 0, len(listed))
	index := map[string]int{}
	for _, n := range listed {
		index[n.ID] = len(nodes)
		nodes = append(nodes, metrics.Node{
			Name: cmp.Or(n.Hostname, shortNodeID(n.ID)), ID: n.ID, Address: n.Addr,
			State: nodeState(n), Up: n.State == "ready", Memory: n.MemoryBytes,
			Instances: metrics.Capacity{Limit: limit},
		})
	}
	for _, inst := range all {
		if inst.Node == "" || !occupiesContainer(inst) {
			continue
		}
		i, ok := index[inst.Node]
		if !ok {
			i = len(nodes)
			index[inst.Node] = i
			nodes = append(nodes, metrics.Node{Name: shortNodeID(inst.Node), ID: inst.Node, Address: inst.Host, State: nodeMissing, Instances: metrics.Capacity{Limit: limit}})
		}
		nodes[i].Instances.Used++
		if _, plan, ok := b.cfg.Catalog.PlanByID(inst.PlanID); ok {
			nodes[i].MemoryReserved += plan.Container.Memory
		}
	}
	slices.SortFunc(nodes, func(a, b metrics.Node) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return nodes, nil
}

// nodeState is how the dashboard and the metrics call the state of n: the managers' when they
// do not hear from it, else whether it takes new instances.
func nodeState(n dockerengine.Node) string {
	switch {
	case n.State != "ready":
		return n.State
	case n.Availability == "drain":
		return "drained"
	case n.Availability == "pause":
		return "paused"
	}
	return "ready"
}

// shortNodeID is a node id as Docker shows it: its first 12 characters.
func shortNodeID(id string) string {
	return id[:min(len(id), 12)]
}

// nodesByID indexes nodes by id; nil for none, which marks no instance down.
func nodesByID(nodes []metrics.Node) map[string]metrics.Node {
	if len(nodes) == 0 {
		return nil
	}
	byID := make(map[string]metrics.Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	return byID
}

// instanceStateOn is instanceState, except that a ready instance whose machine is not up is
// metrics.NodeDown: its container is out of reach until the machine returns. Without nodes
// (a plain engine, or one that did not list them) no instance is marked down.
func instanceStateOn(inst store.Instance, nodes map[string]metrics.Node) string {
	state := instanceState(inst)
	if n, listed := nodes[inst.Node]; state == "ready" && listed && !n.Up {
		return metrics.NodeDown
	}
	return state
}

// machineOf is the machine of several (package swarm) that holds inst, listed or missing as
// fleetNodes says; false on an engine of one machine, and when the machines cannot be listed,
// which the log tells.
func (b *Broker) machineOf(ctx context.Context, inst store.Instance) (metrics.Node, bool) {
	if inst.Node == "" {
		return metrics.Node{}, false
	}
	nodes, err := b.fleetNodes(ctx, []store.Instance{inst})
	if err != nil {
		b.log.Warn("the machines could not be listed", "instance_id", inst.ID, "error", err.Error())
	}
	n, ok := nodesByID(nodes)[inst.Node]
	return n, ok
}
