package broker

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
)

// listingEngine is the fake engine as a swarm: it places new instances as placingEngine does
// and lists nodes (or fails to, with nodesErr).
type listingEngine struct {
	*placingEngine
	nodes      []dockerengine.Node
	nodesErr   error
	maxPerNode int
}

func (l *listingEngine) Nodes(context.Context) ([]dockerengine.Node, error) {
	return slices.Clone(l.nodes), l.nodesErr
}

func (l *listingEngine) MaxContainersPerNode() int { return l.maxPerNode }

// swarmEnv is a broker on a listingEngine of three nodes: vm-1 (4 GiB), a node without a
// hostname (8 GiB) and vm-3, drained. i1 (free) and i2 (tiny, 64 MiB) run on vm-1, i3 on the
// second node, i4 on a node that has left the swarm.
func swarmEnv(t *testing.T) (*env, *listingEngine) {
	e := buildEnv(t, nil)
	placing := &placingEngine{fakeEngine: e.engine}
	swarm := &listingEngine{placingEngine: placing, maxPerNode: 5, nodes: []dockerengine.Node{
		{ID: "n1", Hostname: "vm-1", State: "ready", Availability: "active", Addr: "10.0.0.11", MemoryBytes: 4 << 30},
		{ID: "abcdef0123456789", State: "ready", Availability: "active", Addr: "10.0.0.12", MemoryBytes: 8 << 30},
		{ID: "n3", Hostname: "vm-3", State: "ready", Availability: "drain", Addr: "10.0.0.13", MemoryBytes: 4 << 30},
	}}
	e.brokerEngine = swarm
	e.restart()
	for _, p := range []struct{ id, plan, node, address string }{
		{"i1", planFree, "n1", "10.0.0.11"},
		{"i2", planTiny, "n1", "10.0.0.11"},
		{"i3", planFree, "abcdef0123456789", "10.0.0.12"},
		{"i4", planFree, "gone0123456789", "10.0.0.19"},
	} {
		placing.node, placing.address = p.node, p.address
		e.mustProvision(p.id, svcRedis, p.plan, "")
	}
	return e, swarm
}

func TestMetricsAndDashboardShowEveryNodeWithItsInstancesAndReadyInstancesOnANodeDownAsNodeDown(t *testing.T) {
	e, swarm := swarmEnv(t)
	swarm.nodes[1].State = "down"
	// What the swarm engine reports of a container on a node that is down.
	e.engine.mu.Lock()
	e.engine.lookupLocked(containerName("i3")).State = "node down"
	e.engine.mu.Unlock()

	snap, err := e.b.MetricsState(context.Background())
	if err != nil || snap.NodesErr != nil {
		t.Fatal(err, snap.NodesErr)
	}
	want := []metrics.Node{
		{Name: "abcdef012345", ID: "abcdef0123456789", Address: "10.0.0.12", State: "down", Instances: metrics.Capacity{Used: 1, Limit: 5}, Memory: 8 << 30},
		{Name: "gone01234567", ID: "gone0123456789", Address: "10.0.0.19", State: "missing", Instances: metrics.Capacity{Used: 1, Limit: 5}},
		{Name: "vm-1", ID: "n1", Address: "10.0.0.11", State: "ready", Up: true, Instances: metrics.Capacity{Used: 2, Limit: 5}, MemoryReserved: 64 << 20, Memory: 4 << 30},
		{Name: "vm-3", ID: "n3", Address: "10.0.0.13", State: "drained", Up: true, Instances: metrics.Capacity{Limit: 5}, Memory: 4 << 30},
	}
	if !slices.Equal(snap.Nodes, want) {
		t.Errorf("nodes\n%+v\nwant\n%+v", snap.Nodes, want)
	}
	var states, containers []string
	for _, inst := range snap.Instances {
		states = append(states, inst.State)
	}
	for _, c := range snap.Containers {
		containers = append(containers, c.State)
	}
	slices.Sort(containers)
	if want := []string{"ready", "ready", "node down", "node down"}; !slices.Equal(states, want) {
		t.Errorf("instance states %q, want %q: i3's node is down and i4's has left the swarm", states, want)
	}
	if want := []string{"node down", "running", "running", "running"}; !slices.Equal(containers, want) {
		t.Errorf("container states %q, want %q", containers, want)
	}

	rows, err := e.b.DashboardInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, r := range rows {
		shown = append(shown, r.ID+" "+r.Node+" "+r.Host+" "+r.State)
	}
	wantRows := []string{"i1 vm-1 10.0.0.11 ready", "i2 vm-1 10.0.0.11 ready", "i3 abcdef012345 10.0.0.12 node down", "i4 gone01234567 10.0.0.19 node down"}
	if !slices.Equal(shown, wantRows) {
		t.Errorf("dashboard rows %q, want %q", shown, wantRows)
	}
	detail, _, err := e.b.DashboardInstance(context.Background(), "i3", 10)
	if err != nil || detail.Node != "abcdef012345" || detail.State != "node down" {
		t.Errorf("instance page: node %q state %q (%v), want abcdef012345, node down", detail.Node, detail.State, err)
	}
}

func TestMetricsAndDashboardWithoutTheNodesListStillShowTheInstancesAndMarkNoneDown(t *testing.T) {
	e, swarm := swarmEnv(t)
	swarm.nodesErr = errors.New("manager unreachable")
	snap, err := e.b.MetricsState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.NodesErr == nil || snap.Nodes != nil {
		t.Errorf("nodes %+v, error %v: want none and the engine's error", snap.Nodes, snap.NodesErr)
	}
	for _, inst := range snap.Instances {
		if inst.State != "ready" {
			t.Errorf("an instance is %q without the nodes' list, want ready", inst.State)
		}
	}
	rows, err := e.b.DashboardInstances(context.Background())
	if err != nil || len(rows) != 4 || rows[0].Node != "n1" {
		t.Errorf("rows %+v (%v): want every instance, its node by id", rows, err)
	}
}

func TestMetricsAndDashboardOfAPlainEngineHaveNoNodes(t *testing.T) {
	e := newEnv(t, nil)
	e.mustProvision("i1", svcRedis, planFree, "")
	snap, err := e.b.MetricsState(context.Background())
	if err != nil || snap.Nodes != nil || snap.NodesErr != nil {
		t.Errorf("a plain engine's snapshot has nodes %+v (%v, %v)", snap.Nodes, snap.NodesErr, err)
	}
	rows, err := e.b.DashboardInstances(context.Background())
	if err != nil || len(rows) != 1 || rows[0].Node != "" || rows[0].Host != externalHost {
		t.Errorf("rows %+v (%v): want i1 without a node, at the broker's external host", rows, err)
	}
}

// GET of an instance on a swarm says where it runs and whether it can be reached there; on a
// plain engine it carries no metadata.
func TestGetInstanceTellsItsMachineAndAnInstanceOnAMachineDownIsNodeDown(t *testing.T) {
	e, swarm := swarmEnv(t)
	swarm.nodes[1].State = "down"
	ctx := context.Background()
	for id, want := range map[string]map[string]string{
		"i1": {"node": "vm-1", "node_address": "10.0.0.11", "node_state": "ready", "state": "ready"},
		"i3": {"node": "abcdef012345", "node_address": "10.0.0.12", "node_state": "down", "state": metrics.NodeDown},
		"i4": {"node": "gone01234567", "node_address": "10.0.0.19", "node_state": nodeMissing, "state": metrics.NodeDown},
	} {
		resp, err := e.b.GetInstance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Metadata == nil || !maps.Equal(resp.Metadata.Attributes, want) {
			t.Errorf("GET %s: metadata %+v, want attributes %v", id, resp.Metadata, want)
		}
	}

	// The instance's answer does not depend on the machines being listed.
	swarm.nodesErr = errors.New("the managers do not answer")
	if resp, err := e.b.GetInstance(ctx, "i1"); err != nil || resp.Metadata != nil || resp.PlanID != planFree {
		t.Errorf("GET without the machines: %+v, %v; want the instance without metadata", resp, err)
	}

	plain := newEnv(t, nil)
	plain.mustProvision("p1", svcRedis, planFree, "")
	if resp, err := plain.b.GetInstance(ctx, "p1"); err != nil || resp.Metadata != nil {
		t.Errorf("GET on a plain engine: %+v, %v; want no metadata", resp, err)
	}
}

// An update of an instance whose machine is down fails and changes nothing: its container stays
// as it was, and the instance runs as before once the machine is back.
func TestAnUpdateOnAMachineDownFailsSayingSoAndChangesNothing(t *testing.T) {
	e, swarm := swarmEnv(t)
	swarm.nodes[0].State = "down" // vm-1, where i2 (tiny) runs
	creates := e.engine.createCount("")
	if _, err := e.update("i2", planFree, "", true); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("i2")
	if lo.State != "failed" || !strings.Contains(lo.Description, nodeDown) || !strings.Contains(lo.Description, "the instance runs as before") {
		t.Errorf("last operation %+v, want failed saying the VM is down and the instance unchanged", lo)
	}
	if n := e.engine.createCount(""); n != creates {
		t.Errorf("%d containers created, want none", n-creates)
	}
	if resp, err := e.b.GetInstance(context.Background(), "i2"); err != nil || resp.PlanID != planTiny {
		t.Errorf("GET after the failed update: %+v, %v; want the instance on its plan as before", resp, err)
	}
}
