package swarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// placement is where a new service goes and what it sets aside there.
type placement struct {
	nodeID string
	memory int64
}

// ErrNoCapacity is what Place returns when no node can take another instance.
var ErrNoCapacity = errors.New("no swarm node can take another instance")

// Place returns the node the service name runs on, with the address where clients reach the
// ports it publishes: the node of the existing service of that name, else the one decided for
// it before, else the ready, active node with the most memory free after its services'
// reservations (the fewest services on a tie) that is below the per-node maximum and can hold
// memory more. The broker records the node, creates the instance's directories there and asks
// for the container on it (ContainerSpec.Node).
//
// Memory reservations, not the swarm's scheduler, decide: the scheduler would place a task
// only after its directories must already exist on the node, and never moves it after.
func (e *Engine) Place(ctx context.Context, name string, memory int64) (node, address string, err error) {
	node, err = e.place(ctx, name, memory)
	if err != nil {
		return "", "", err
	}
	described, err := e.cfg.Manager.InspectNode(ctx, node)
	if err != nil {
		return "", "", err
	}
	return node, e.address(described), nil
}

// address is where clients reach the ports node publishes: the address the broker was given
// for it, else the one it reaches the managers from.
func (e *Engine) address(node dockerengine.Node) string {
	if a := e.cfg.Nodes[node.ID].Address; a != "" {
		return a
	}
	return node.Addr
}

// place is Place's node.
func (e *Engine) place(ctx context.Context, name string, memory int64) (string, error) {
	svc, err := e.cfg.Manager.InspectService(ctx, name)
	switch {
	case err == nil:
		return svc.NodeID, nil
	case !dockerengine.IsNotFound(err):
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.pending[name]; ok {
		return p.nodeID, nil
	}
	nodes, err := e.cfg.Manager.ListNodes(ctx)
	if err != nil {
		return "", err
	}
	services, err := e.cfg.Manager.ListServices(ctx, nil)
	if err != nil {
		return "", err
	}
	load := map[string]*nodeLoad{}
	for _, n := range nodes {
		load[n.ID] = &nodeLoad{node: n, free: n.MemoryBytes}
	}
	for _, s := range services {
		if l, ok := load[s.NodeID]; ok {
			l.add(s.MemoryReservation)
		}
	}
	for _, p := range e.pending {
		if l, ok := load[p.nodeID]; ok {
			l.add(p.memory)
		}
	}
	var candidates []*nodeLoad
	for _, l := range load {
		if e.takesNew(l, memory) {
			candidates = append(candidates, l)
		}
	}
	if len(candidates) == 0 {
		return "", fmt.Errorf("placing %s (memory %d bytes): %w; %s", name, memory, ErrNoCapacity, e.describe(load))
	}
	best := slices.MinFunc(candidates, func(a, b *nodeLoad) int {
		return cmp.Or(cmp.Compare(b.free, a.free), cmp.Compare(a.services, b.services), cmp.Compare(a.node.ID, b.node.ID))
	})
	e.pending[name] = placement{nodeID: best.node.ID, memory: memory}
	return best.node.ID, nil
}

// placed forgets the placement of name once its service exists (or will not be created).
// name may also be a service id, which forgets nothing.
func (e *Engine) placed(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.pending, name)
}

// nodeLoad is what is set aside on one node.
type nodeLoad struct {
	node     dockerengine.Node
	free     int64 // memory not reserved
	services int
}

func (l *nodeLoad) add(memory int64) {
	l.free -= memory
	l.services++
}

// takesNew reports whether a new instance reserving memory may go to the node of l.
func (e *Engine) takesNew(l *nodeLoad, memory int64) bool {
	_, reachable := e.cfg.Nodes[l.node.ID]
	return reachable &&
		l.node.State == "ready" && l.node.Availability == "active" &&
		(e.cfg.MaxContainersPerNode == 0 || l.services < e.cfg.MaxContainersPerNode) &&
		l.free >= memory
}

// describe tells the operator why no node takes an instance.
func (e *Engine) describe(load map[string]*nodeLoad) string {
	s := fmt.Sprintf("max containers per node %d;", e.cfg.MaxContainersPerNode)
	for _, id := range slices.Sorted(maps.Keys(load)) {
		l := load[id]
		s += fmt.Sprintf(" node %s: %s/%s, %d services, %d bytes free", id, l.node.State, l.node.Availability, l.services, l.free)
		if _, ok := e.cfg.Nodes[id]; !ok {
			s += ", not among the broker's nodes"
		}
		s += ";"
	}
	return s
}
