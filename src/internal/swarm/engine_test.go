package swarm

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

var _ broker.Engine = (*Engine)(nil)

const gib = 1 << 30

// testSwarm is an Engine over a fake manager with one fake engine per node.
func testSwarm(t *testing.T, maxPerNode int, nodes ...dockerengine.Node) (*Engine, *fakeManager, map[string]*fakeNode) {
	t.Helper()
	m := newFakeManager(nodes...)
	engines := map[string]*fakeNode{}
	members := map[string]Node{}
	for _, n := range nodes {
		engines[n.ID] = newFakeNode()
		engines[n.ID].images["redis:7"] = dockerengine.Image{ID: "sha256:redis7"}
		members[n.ID] = Node{Engine: engines[n.ID]}
	}
	e, err := New(Config{Manager: m, Nodes: members, MaxContainersPerNode: maxPerNode})
	if err != nil {
		t.Fatal(err)
	}
	return e, m, engines
}

func TestPlaceChoosesTheNodeWithTheMostFreeMemory(t *testing.T) {
	e, m, _ := testSwarm(t, 0, node("a", 8*gib), node("b", 16*gib), node("c", 16*gib))
	m.addService("other", "c", 10*gib) // c has 6 GiB free, b 16, a 8
	got, address, err := e.Place(context.Background(), "cf-1", gib)
	if err != nil {
		t.Fatal(err)
	}
	if got != "b" || address != "addr-b" {
		t.Errorf("placed on %s at %s, want b (16 GiB free against a's 8 and c's 6) at its address addr-b", got, address)
	}
}

func TestCreateContainerPinsTheServiceToTheNodeTheSpecNames(t *testing.T) {
	// The broker recorded node a before a restart forgot the placement; b has more room now.
	e, m, _ := testSwarm(t, 0, node("a", 2*gib), node("b", 16*gib))
	id, err := e.CreateContainer(context.Background(), dockerengine.ContainerSpec{Name: "cf-1", Image: "redis:7", Memory: gib, Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if svc, _ := m.InspectService(context.Background(), id); svc.NodeID != "a" {
		t.Errorf("service on %q, want a: the node that holds the instance's directories", svc.NodeID)
	}
}

func TestPlaceCountsPlacementsWhoseServiceIsNotCreatedYet(t *testing.T) {
	e, _, _ := testSwarm(t, 0, node("a", 8*gib), node("b", 8*gib))
	first, _, err := e.Place(context.Background(), "cf-1", 2*gib)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := e.Place(context.Background(), "cf-2", 2*gib)
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Errorf("both instances placed on %s: the first's reservation did not count before its service existed", first)
	}
	again, _, err := e.Place(context.Background(), "cf-1", 2*gib)
	if err != nil || again != first {
		t.Errorf("placing cf-1 again gave %q, %v; want its first placement %s", again, err, first)
	}
}

func TestPlaceRespectsMaxContainersPerNode(t *testing.T) {
	e, m, _ := testSwarm(t, 2, node("big", 64*gib), node("small", 4*gib))
	m.addService("x", "big", gib)
	m.addService("y", "big", gib)
	got, _, err := e.Place(context.Background(), "cf-1", gib)
	if err != nil {
		t.Fatal(err)
	}
	if got != "small" {
		t.Errorf("placed on %s, want small: big holds the maximum of 2", got)
	}
	m.addService("z", "small", gib)
	m.addService("w", "small", gib)
	e.placed("cf-1")
	if _, _, err := e.Place(context.Background(), "cf-2", gib); !errors.Is(err, ErrNoCapacity) {
		t.Errorf("every node at its maximum: got %v, want ErrNoCapacity", err)
	}
}

func TestPlaceTakesOnlyReadyActiveReachableNodesWithRoomForTheReservation(t *testing.T) {
	down, drained, unknown := node("down", 64*gib), node("drained", 64*gib), node("unknown", 64*gib)
	down.State, drained.Availability = "down", "drain"
	e, m, _ := testSwarm(t, 0, down, drained, node("ok", 2*gib))
	m.nodes["unknown"] = unknown // a member the broker has no engine for
	got, _, err := e.Place(context.Background(), "cf-1", gib)
	if err != nil || got != "ok" {
		t.Errorf("placed on %q, %v; want ok, the only ready, active node the broker reaches", got, err)
	}
	if _, _, err := e.Place(context.Background(), "cf-2", 2*gib); !errors.Is(err, ErrNoCapacity) {
		t.Errorf("2 GiB on a node with 1 GiB unreserved: got %v, want ErrNoCapacity", err)
	}
}

func TestCreateContainerPinsAStoppedServiceToItsNodeWithReservations(t *testing.T) {
	e, m, _ := testSwarm(t, 0, node("a", 8*gib), node("b", 4*gib))
	spec := dockerengine.ContainerSpec{Name: "cf-1", Image: "redis:7", Memory: gib, CPUShares: 512, Labels: map[string]string{"k": "v"}}
	id, err := e.CreateContainer(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.created) != 1 {
		t.Fatalf("%d services created, want 1", len(m.created))
	}
	got := m.created[0]
	if got.NodeID != "a" || got.Replicas != 0 || got.MemoryReservation != gib || got.NanoCPUsReservation != 5e8 || got.Container.Name != "cf-1" || got.ImageID != "sha256:redis7" {
		t.Errorf("service spec %+v: want node a, 0 replicas, 1 GiB and half a CPU (512 shares) reserved, the image by its id on node a", got)
	}
	c, err := e.InspectContainer(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Name != "cf-1" || c.State != "created" || c.Running || c.Labels["k"] != "v" {
		t.Errorf("inspected %+v, want created, not running, with its id, name and labels", c)
	}
	if len(e.pending) != 0 {
		t.Errorf("placements still pending after the create: %v", e.pending)
	}
}

func TestCreateContainerRefusesWhatNoSwarmServiceTakes(t *testing.T) {
	e, m, _ := testSwarm(t, 0, node("a", 8*gib))
	_, err := e.CreateContainer(context.Background(), dockerengine.ContainerSpec{Name: "cf-1", Privileged: true, ShmSize: 1 << 26})
	if err == nil || !strings.Contains(err.Error(), "privileged") || !strings.Contains(err.Error(), "shm_size") {
		t.Errorf("got %v, want a refusal naming privileged and shm_size", err)
	}
	if len(m.created) != 0 {
		t.Errorf("a service was created")
	}
}

func TestStartStopAndRemove(t *testing.T) {
	e, m, engines := testSwarm(t, 0, node("a", 8*gib))
	ctx := context.Background()
	id, err := e.CreateContainer(ctx, dockerengine.ContainerSpec{Name: "cf-1", Image: "redis:7", Ports: []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostPort: "26201"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	engines["a"].containers["ctr-cf-1"] = dockerengine.Container{ID: "ctr-cf-1", State: "running", Running: true, Pid: 42, Health: "healthy", IPAddress: "10.0.0.5"}
	c, err := e.InspectContainer(ctx, "cf-1")
	if err != nil {
		t.Fatal(err)
	}
	wantPorts := []dockerengine.PortMapping{{ContainerPort: "6379/tcp", HostIP: "addr-a", HostPort: "26201"}}
	if !c.Running || c.State != "running" || c.Pid != 42 || c.Health != "healthy" || c.ID != id || !slices.Equal(c.Ports, wantPorts) {
		t.Errorf("inspected %+v, want running with pid 42, healthy, its service id and ports %v at the node's address", c, wantPorts)
	}
	if err := e.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.InspectContainer(ctx, id); c.State != "exited" || c.Running {
		t.Errorf("after stop: %+v, want exited", c)
	}
	if err := e.RemoveContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.InspectContainer(ctx, id); !dockerengine.IsNotFound(err) {
		t.Errorf("after remove: %v, want not found", err)
	}
	if len(m.services) != 0 {
		t.Errorf("services left: %v", m.services)
	}
}

func TestATaskThatFailedIsRestarting(t *testing.T) {
	e, m, _ := testSwarm(t, 0, node("a", 8*gib))
	m.addService("cf-1", "a", 0)
	m.services["svc1"].Replicas, m.services["svc1"].RestartCondition = 1, "any"
	m.addTask("cf-1", "failed", "shutdown", "old")
	m.addTask("cf-1", "ready", "running", "")
	c, err := e.InspectContainer(context.Background(), "cf-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.State != "restarting" || c.Running || c.RestartCount != 1 {
		t.Errorf("inspected %+v, want restarting after 1 restart", c)
	}
}

// The broker waits for a container to run: its node says so before the managers do.
func TestAStartingTaskRunsOnceItsContainerRunsOnItsNode(t *testing.T) {
	e, m, engines := testSwarm(t, 0, node("a", 8*gib))
	m.addService("cf-1", "a", 0)
	m.services["svc1"].Replicas = 1
	m.addTask("cf-1", "starting", "running", "ctr-1")
	ctx := context.Background()
	engines["a"].containers["ctr-1"] = dockerengine.Container{ID: "ctr-1", State: "created"}
	if c, err := e.InspectContainer(ctx, "cf-1"); err != nil || c.Running || c.State != "created" {
		t.Errorf("its container created on the node: %+v, %v; want created", c, err)
	}
	engines["a"].containers["ctr-1"] = dockerengine.Container{ID: "ctr-1", State: "running", Running: true, Pid: 7}
	if c, err := e.InspectContainer(ctx, "cf-1"); err != nil || !c.Running || c.State != "running" || c.Pid != 7 {
		t.Errorf("its container running on the node: %+v, %v; want running with the node's pid", c, err)
	}
}

func TestInstancesOnANodeThatIsDownAreReportedSoAndOthersAreNot(t *testing.T) {
	e, m, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 8*gib))
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		m.addService("cf-"+n, n, 0)
		m.addTask("cf-"+n, "running", "running", "ctr-"+n)
		engines[n].containers["ctr-"+n] = dockerengine.Container{ID: "ctr-" + n, State: "running", Running: true}
	}
	m.setNodeState("b", "down")
	list, err := e.ListContainers(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, c := range list {
		states[c.Name] = c.State
	}
	if states["cf-a"] != "running" || states["cf-b"] != NodeDown {
		t.Errorf("states %v, want cf-a running and cf-b %q", states, NodeDown)
	}
	if c, err := e.InspectContainer(ctx, "cf-b"); err != nil || c.Running || c.State != NodeDown {
		t.Errorf("inspecting cf-b: %+v, %v; want %q, not running", c, err, NodeDown)
	}
}

func TestExecRunsOnTheNodeOfTheTask(t *testing.T) {
	e, m, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 8*gib))
	ctx := context.Background()
	m.addService("cf-1", "b", 0)
	m.addTask("cf-1", "running", "running", "ctr-1")
	execID, err := e.CreateExec(ctx, "cf-1", dockerengine.Exec{Cmd: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.StartExec(ctx, execID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.InspectExec(ctx, execID); err != nil {
		t.Fatal(err)
	}
	want := []string{"exec ctr-1", "start exec-ctr-1", "inspect exec-ctr-1"}
	if got := engines["b"].recorded(); !slices.Equal(got, want) {
		t.Errorf("node b was asked %q, want %q", got, want)
	}
	if got := engines["a"].recorded(); len(got) != 0 {
		t.Errorf("node a was asked %q, want nothing", got)
	}
}

func TestExecInAStoppedServiceFails(t *testing.T) {
	e, m, _ := testSwarm(t, 0, node("a", 8*gib))
	m.addService("cf-1", "a", 0)
	m.addTask("cf-1", "shutdown", "shutdown", "ctr-1")
	if _, err := e.CreateExec(context.Background(), "cf-1", dockerengine.Exec{Cmd: []string{"true"}}); !errors.Is(err, errNoContainer) {
		t.Errorf("got %v, want errNoContainer", err)
	}
}

func TestReadFileOfACreatedServiceReadsItsImageOnItsNode(t *testing.T) {
	e, _, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 1*gib))
	ctx := context.Background()
	engines["a"].files["/etc/passwd"] = []byte("redis:x:999:999::/:/bin/false\n")
	id, err := e.CreateContainer(ctx, dockerengine.ContainerSpec{Name: "cf-1", Image: "redis:7"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.ReadFile(ctx, id, "/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "redis:x:999") {
		t.Errorf("read %q", got)
	}
	want := []string{"create redis:7", "read scratch0 /etc/passwd", "remove scratch0"}
	if calls := engines["a"].recorded(); !slices.Equal(calls, want) {
		t.Errorf("node a was asked %q, want %q", calls, want)
	}
}

func TestAnImageMissingOnOneReadyNodeIsMissingAndIsPulledOnEvery(t *testing.T) {
	down := node("down", 8*gib)
	down.State = "down"
	e, _, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 8*gib), down)
	ctx := context.Background()
	delete(engines["b"].images, "redis:7")
	if _, err := e.InspectImage(ctx, "redis:7"); !dockerengine.IsNotFound(err) {
		t.Fatalf("image only on a: got %v, want not found", err)
	}
	if err := e.PullImage(ctx, "redis:7", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.InspectImage(ctx, "redis:7"); err != nil {
		t.Errorf("after the pull: %v", err)
	}
	if calls := engines["down"].recorded(); len(calls) != 0 {
		t.Errorf("the node that is down was asked %q", calls)
	}
}

// The managers still list the task of a node that went down as running: starting, stopping
// and running a command there fail with ErrNodeDown, naming the node, and do not wait for it.
func TestAnInstanceOnANodeThatIsDownStopsWithAnErrorAndIsRemoved(t *testing.T) {
	e, m, engines := testSwarm(t, 0, node("a", 8*gib))
	ctx := context.Background()
	m.addService("cf-1", "a", 0)
	m.addTask("cf-1", "running", "running", "ctr-1")
	m.setNodeState("a", "down")
	err := e.StopContainer(ctx, "cf-1", 0)
	if !errors.Is(err, dockerengine.ErrNodeDown) || !strings.Contains(err.Error(), "node a (addr-a) is down") {
		t.Errorf("stopping on a node that is down: %v, want ErrNodeDown naming the node", err)
	}
	if err := e.StartContainer(ctx, "cf-1"); !errors.Is(err, dockerengine.ErrNodeDown) {
		t.Errorf("starting on a node that is down: %v, want ErrNodeDown", err)
	}
	if _, err := e.CreateExec(ctx, "cf-1", dockerengine.Exec{Cmd: []string{"true"}}); !errors.Is(err, dockerengine.ErrNodeDown) {
		t.Errorf("a command on a node that is down: %v, want ErrNodeDown", err)
	}
	if calls := engines["a"].recorded(); len(calls) != 0 {
		t.Errorf("the node that is down was asked %q", calls)
	}
	if err := e.RemoveContainer(ctx, "cf-1"); err != nil {
		t.Errorf("removing: %v", err)
	}
	if _, err := e.InspectContainer(ctx, "cf-1"); !dockerengine.IsNotFound(err) {
		t.Errorf("after remove: %v, want not found", err)
	}
}

func TestEventsOfEveryNodeNameTheService(t *testing.T) {
	e, _, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 8*gib))
	for _, n := range []string{"a", "b"} {
		engines[n].events = []dockerengine.ContainerEvent{{Action: "die", ContainerID: "ctr-" + n, Name: "cf-" + n + ".1.task",
			Labels: map[string]string{serviceIDLabel: "svc-" + n, serviceNameLabel: "cf-" + n, "broker": "x"}}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := map[string]string{}
	err := e.ContainerEvents(ctx, nil, func(ev dockerengine.ContainerEvent) {
		got[ev.ContainerID] = ev.Name
		if len(got) == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ended with %v, want its context's end", err)
	}
	if want := map[string]string{"svc-a": "cf-a", "svc-b": "cf-b"}; !maps.Equal(got, want) {
		t.Errorf("events named %v, want %v", got, want)
	}
}

func TestAFailedCreateKeepsItsNodeUntilTheInstanceIsTakenDown(t *testing.T) {
	e, _, engines := testSwarm(t, 0, node("a", 8*gib), node("b", 7*gib))
	ctx := context.Background()
	delete(engines["a"].images, "redis:7")
	spec := dockerengine.ContainerSpec{Name: "cf-1", Image: "redis:7", Memory: 2 * gib}
	if _, err := e.CreateContainer(ctx, spec); !dockerengine.IsNotFound(err) {
		t.Fatalf("create without the image on the node: %v, want not found", err)
	}
	if got, _, _ := e.Place(ctx, "cf-2", 2*gib); got != "b" {
		t.Errorf("the next instance went to %s, want b: cf-1's 2 GiB on a still count", got)
	}
	if err := e.StopContainer(ctx, "cf-1", 0); !dockerengine.IsNotFound(err) {
		t.Fatalf("stopping an instance without a service: %v, want not found", err)
	}
	if _, pending := e.pending["cf-1"]; pending {
		t.Error("the placement of cf-1 is kept after the broker took the instance down")
	}
}

// A task made while its node was down waits after the node returned: RestartStranded replaces
// it, and only where the node is ready and the task has waited longer than a placement takes.
func TestTheStrandedTasksOfANodeThatReturnedAreReplaced(t *testing.T) {
	drained := node("drained", 8*gib)
	drained.Availability = "drain" // its VM is stopping: the docker job's drain
	e, m, _ := testSwarm(t, 0, node("back", 8*gib), node("down", 8*gib), drained)
	ctx := context.Background()
	for _, s := range []struct{ name, node, state string }{
		{"cf-stranded", "back", "pending"}, {"cf-running", "back", "running"}, {"cf-waiting", "down", "pending"},
		{"cf-drained", "drained", "pending"},
	} {
		m.addService(s.name, s.node, 0)
		m.find(s.name).Replicas = 1
		m.addTask(s.name, s.state, "running", "")
	}
	m.setNodeState("down", "down")
	replaced, err := e.RestartStranded(ctx, nil)
	if err != nil || len(replaced) != 1 || replaced[0] != "cf-stranded" {
		t.Fatalf("replaced %v, %v; want cf-stranded only", replaced, err)
	}
	tasks, _ := m.ListTasks(ctx, m.find("cf-stranded").ID)
	if task, _ := currentTask(tasks); len(tasks) != 2 || task.State != "running" || m.find("cf-stranded").Replicas != 1 {
		t.Errorf("the tasks of the stranded instance after the replacement: %+v; want a new one running", tasks)
	}
	young := dockerengine.Task{State: "pending", DesiredState: "running", CreatedAt: time.Now()}
	if stranded(young, young.CreatedAt.Add(strandedAfter/2)) {
		t.Error("a task pending for less than strandedAfter counts as stranded")
	}
}
