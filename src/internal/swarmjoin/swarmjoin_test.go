package swarmjoin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// cluster is a fake swarm: its nodes as the managers list them.
type cluster struct {
	tokens dockerengine.JoinTokens
	nodes  []*dockerengine.Node
}

// world is a set of fake VMs whose engines reach each other by their API address.
type world struct {
	engines map[string]*fakeEngine // by Engine API address "ip:4243"
	nextID  int
}

// fakeEngine is one VM's engine; it records the calls that change the swarm.
type fakeEngine struct {
	w       *world
	ip      string
	cluster *cluster // nil: in no swarm
	nodeID  string
	down    bool // its VM does not answer
	calls   []string
}

func newWorld(ips ...string) *world {
	w := &world{engines: map[string]*fakeEngine{}}
	for _, ip := range ips {
		w.engines[apiAddr(ip)] = &fakeEngine{w: w, ip: ip}
	}
	return w
}

func apiAddr(ip string) string { return net.JoinHostPort(ip, "4243") }

func (w *world) engine(ip string) *fakeEngine { return w.engines[apiAddr(ip)] }

func (w *world) connect(address string) (Remote, error) {
	e, ok := w.engines[address]
	if !ok {
		return nil, fmt.Errorf("no engine at %s", address)
	}
	return e, nil
}

func (e *fakeEngine) entry() *dockerengine.Node {
	if e.cluster == nil {
		return nil
	}
	for _, n := range e.cluster.nodes {
		if n.ID == e.nodeID {
			return n
		}
	}
	return nil
}

func (e *fakeEngine) isManager() bool { n := e.entry(); return n != nil && n.Manager }

func (e *fakeEngine) LocalSwarm(context.Context) (dockerengine.LocalSwarm, error) {
	if e.down {
		return dockerengine.LocalSwarm{}, errors.New("connection refused")
	}
	if e.cluster == nil {
		return dockerengine.LocalSwarm{State: "inactive"}, nil
	}
	return dockerengine.LocalSwarm{NodeID: e.nodeID, NodeAddr: e.ip, State: "active", Manager: e.isManager()}, nil
}

func (e *fakeEngine) addTo(c *cluster, manager bool) string {
	e.w.nextID++
	e.nodeID = fmt.Sprintf("node%d", e.w.nextID)
	e.cluster = c
	c.nodes = append(c.nodes, &dockerengine.Node{ID: e.nodeID, Addr: e.ip, State: "ready", Availability: "active", Manager: manager})
	return e.nodeID
}

func (e *fakeEngine) InitSwarm(_ context.Context, advertiseAddr string) (string, error) {
	e.calls = append(e.calls, "init "+advertiseAddr)
	if e.cluster != nil {
		return "", errors.New("already part of a swarm")
	}
	return e.addTo(&cluster{tokens: dockerengine.JoinTokens{Worker: "SWMTKN-worker", Manager: "SWMTKN-manager"}}, true), nil
}

func (e *fakeEngine) JoinSwarm(_ context.Context, advertiseAddr, managerAddr, token string) error {
	e.calls = append(e.calls, fmt.Sprintf("join %s via %s", advertiseAddr, managerAddr))
	if e.cluster != nil {
		return errors.New("already part of a swarm")
	}
	host, port, _ := net.SplitHostPort(managerAddr)
	manager := e.w.engine(host)
	if port != dockerengine.SwarmPort || manager == nil || !manager.isManager() {
		return fmt.Errorf("no manager at %s", managerAddr)
	}
	switch token {
	case manager.cluster.tokens.Manager:
		e.addTo(manager.cluster, true)
	case manager.cluster.tokens.Worker:
		e.addTo(manager.cluster, false)
	default:
		return errors.New("invalid join token")
	}
	return nil
}

func (e *fakeEngine) LeaveSwarm(context.Context) error {
	e.calls = append(e.calls, "leave")
	e.cluster, e.nodeID = nil, ""
	return nil
}

func (e *fakeEngine) managerOnly() error {
	if !e.isManager() {
		return errors.New("this node is not a swarm manager")
	}
	return nil
}

func (e *fakeEngine) JoinTokens(context.Context) (dockerengine.JoinTokens, error) {
	if err := e.managerOnly(); err != nil {
		return dockerengine.JoinTokens{}, err
	}
	return e.cluster.tokens, nil
}

func (e *fakeEngine) ListNodes(context.Context) ([]dockerengine.Node, error) {
	if err := e.managerOnly(); err != nil {
		return nil, err
	}
	var out []dockerengine.Node
	for _, n := range e.cluster.nodes {
		out = append(out, *n)
	}
	return out, nil
}

func (e *fakeEngine) node(id string) (*dockerengine.Node, error) {
	if err := e.managerOnly(); err != nil {
		return nil, err
	}
	for _, n := range e.cluster.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("node %s not found", id)
}

func (e *fakeEngine) InspectNode(_ context.Context, id string) (dockerengine.Node, error) {
	n, err := e.node(id)
	if err != nil {
		return dockerengine.Node{}, err
	}
	out := *n
	out.Labels = maps.Clone(n.Labels)
	return out, nil
}

// UpdateNode records "update ID availability +key=value -key".
func (e *fakeEngine) UpdateNode(_ context.Context, id string, change dockerengine.NodeChange) error {
	n, err := e.node(id)
	if err != nil {
		return err
	}
	call := "update " + id
	if change.Availability != "" {
		n.Availability = change.Availability
		call += " " + change.Availability
	}
	for _, k := range slices.Sorted(maps.Keys(change.SetLabels)) {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[k] = change.SetLabels[k]
		call += " +" + k + "=" + change.SetLabels[k]
	}
	for _, k := range change.RemoveLabels {
		delete(n.Labels, k)
		call += " -" + k
	}
	e.calls = append(e.calls, call)
	return nil
}

func (e *fakeEngine) DemoteNode(_ context.Context, id string) error {
	e.calls = append(e.calls, "demote "+id)
	for _, n := range e.cluster.nodes {
		if n.ID == id {
			n.Manager = false
		}
	}
	return nil
}

func (e *fakeEngine) RemoveNode(_ context.Context, id string) error {
	e.calls = append(e.calls, "remove "+id)
	i := slices.IndexFunc(e.cluster.nodes, func(n *dockerengine.Node) bool { return n.ID == id })
	if i < 0 {
		return errors.New("no such node")
	}
	if e.cluster.nodes[i].Manager {
		return errors.New("node is a cluster manager: demote it first")
	}
	e.cluster.nodes = slices.Delete(e.cluster.nodes, i, i+1)
	return nil
}

func (e *fakeEngine) Close() error { return nil }

// recreate is a VM recreated with an empty disk at the same IP: its old entry is now down.
func (e *fakeEngine) recreate() {
	if n := e.entry(); n != nil {
		n.State = "down"
	}
	e.cluster, e.nodeID, e.calls = nil, "", nil
}

var ips = []string{"10.0.0.10", "10.0.0.11", "10.0.0.12"}

// joiner is the job's config for the VM at index i of ips with the given number of managers.
func (w *world) joiner(i, managers int) *Joiner {
	var addrs []string
	for _, ip := range ips[:managers] {
		addrs = append(addrs, apiAddr(ip))
	}
	cfg := Config{Enabled: true, AdvertiseAddress: ips[i], Manager: i < managers, Bootstrap: i == 0, Managers: addrs}
	cfg.ApplyDefaults()
	return New(cfg, w.engine(ips[i]), w.connect, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// deploy converges every VM in index order, as BOSH updates them, and fails t on an error.
func (w *world) deploy(t *testing.T, managers int) {
	t.Helper()
	for i := range ips {
		if err := w.joiner(i, managers).Converge(context.Background()); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
}

// roles lists the swarm's entries as "address role state", sorted.
func roles(c *cluster) []string {
	var out []string
	for _, n := range c.nodes {
		role := "worker"
		if n.Manager {
			role = "manager"
		}
		out = append(out, n.Addr+" "+role+" "+n.State)
	}
	slices.Sort(out)
	return out
}

func TestNodesFormOneSwarmWithTheConfiguredManagers(t *testing.T) {
	for _, managers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d managers", managers), func(t *testing.T) {
			w := newWorld(ips...)
			w.deploy(t, managers)
			c := w.engine(ips[0]).cluster
			var want []string
			for i, ip := range ips {
				role := "worker"
				if i < managers {
					role = "manager"
				}
				want = append(want, ip+" "+role+" ready")
				if w.engine(ip).cluster != c {
					t.Errorf("%s is not in the bootstrap node's swarm", ip)
				}
			}
			if got := roles(c); !slices.Equal(got, want) {
				t.Errorf("swarm entries %v, want %v", got, want)
			}
			if got := w.engine(ips[0]).calls; !slices.Equal(got, []string{"init 10.0.0.10"}) {
				t.Errorf("bootstrap node calls %v, want only the init", got)
			}
		})
	}
}

func TestConvergingAgainChangesNothing(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 3)
	for _, ip := range ips {
		w.engine(ip).calls = nil
	}
	w.deploy(t, 3)
	for _, ip := range ips {
		if calls := w.engine(ip).calls; len(calls) > 0 {
			t.Errorf("%s: a member was changed again: %v", ip, calls)
		}
	}
	if got := len(w.engine(ips[0]).cluster.nodes); got != 3 {
		t.Errorf("%d swarm entries, want 3", got)
	}
}

func TestANodeWaitsForAManagerAndOnlyTheBootstrapNodeCreatesTheSwarm(t *testing.T) {
	w := newWorld(ips...)
	// BOSH may update a worker before the bootstrap VM: it must not create a swarm of its own.
	err := w.joiner(2, 1).Converge(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no manager answers") || !strings.Contains(err.Error(), ips[0]) {
		t.Fatalf("a worker with no manager to ask: %v, want an error naming the manager asked", err)
	}
	if w.engine(ips[2]).cluster != nil || len(w.engine(ips[2]).calls) > 0 {
		t.Errorf("the worker changed its engine: %v", w.engine(ips[2]).calls)
	}
	w.deploy(t, 1)
}

func TestAnUnreachableManagerIsSkipped(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 3)
	w.engine(ips[0]).down = true
	w.engine(ips[2]).recreate()
	if err := w.joiner(2, 3).Converge(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.engine(ips[2]).calls[0]; got != "join 10.0.0.12 via 10.0.0.11:2377" {
		t.Errorf("the recreated node %s, want it to join through the manager that answers", got)
	}
}

func TestARecreatedNodeRejoinsAndItsOldEntryIsRemoved(t *testing.T) {
	for _, tc := range []struct {
		name     string
		managers int
		node     int      // the recreated VM
		remover  int      // the manager that removes the old entry
		want     []string // its calls
	}{
		{"worker", 1, 2, 0, []string{"remove node3"}},
		// The recreated bootstrap VM must join the existing swarm, not create a new one; its old
		// entry is a manager, demoted before it can be removed.
		{"bootstrap manager", 3, 0, 1, []string{"demote node1", "remove node1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(ips...)
			w.deploy(t, tc.managers)
			c := w.engine(ips[1]).cluster
			w.engine(ips[tc.node]).recreate()
			w.engine(ips[tc.remover]).calls = nil
			if err := w.joiner(tc.node, tc.managers).Converge(context.Background()); err != nil {
				t.Fatal(err)
			}
			if w.engine(ips[tc.node]).cluster != c {
				t.Fatal("the recreated node is not in the deployment's swarm")
			}
			if got := roles(c); len(got) != 3 || slices.ContainsFunc(got, func(r string) bool { return strings.HasSuffix(r, "down") }) {
				t.Errorf("swarm entries %v, want the 3 VMs, none down", got)
			}
			if got := w.engine(ips[tc.remover]).calls; !slices.Equal(got, tc.want) {
				t.Errorf("calls of the manager %s: %v, want %v", ips[tc.remover], got, tc.want)
			}
		})
	}
}

func TestAnOldEntryNotYetSeenDownIsWaitedFor(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	old := w.engine(ips[2]).entry()
	w.engine(ips[2]).recreate()
	old.State = "ready" // the managers have not missed its heartbeats yet
	err := w.joiner(2, 1).Converge(context.Background())
	if err == nil || !strings.Contains(err.Error(), "waiting until the managers see it down") {
		t.Fatalf("converge with the old entry still ready: %v, want an error saying it waits", err)
	}
	old.State = "down"
	if err := w.joiner(2, 1).Converge(context.Background()); err != nil {
		t.Fatalf("the next attempt: %v", err)
	}
	if got := roles(w.engine(ips[0]).cluster); len(got) != 3 {
		t.Errorf("swarm entries %v, want 3", got)
	}
}

func TestAWorkerOfASwarmThatIsGoneJoinsTheNewOne(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	// The only manager's VM is recreated with an empty disk: no manager answers, so the
	// bootstrap VM makes a new swarm; the workers still hold the old one.
	w.engine(ips[0]).recreate()
	if err := w.joiner(0, 1).Converge(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ip := range ips[1:] {
		w.engine(ip).calls = nil
	}
	w.deploy(t, 1)
	c := w.engine(ips[0]).cluster
	for _, ip := range ips[1:] {
		if w.engine(ip).cluster != c {
			t.Errorf("%s stayed in the old swarm", ip)
		}
		if got, want := w.engine(ip).calls, []string{"leave", "join " + ip + " via 10.0.0.10:2377"}; !slices.Equal(got, want) {
			t.Errorf("%s: calls %v, want %v", ip, got, want)
		}
	}
}
