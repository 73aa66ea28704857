package swarm

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// fakeManager is an in-memory swarm manager: services, their tasks and the nodes live in maps.
// Scaling a service to one starts a running task with a container on the service's node,
// scaling it to zero shuts that task down, as the swarm does. A missing service is an error
// wrapping dockerengine.ErrNotFound.
type fakeManager struct {
	mu       sync.Mutex
	nodes    map[string]dockerengine.Node
	services map[string]*dockerengine.Service // by id
	tasks    []dockerengine.Task
	created  []dockerengine.ServiceSpec
	nextID   int
	clock    time.Time
}

func newFakeManager(nodes ...dockerengine.Node) *fakeManager {
	m := &fakeManager{nodes: map[string]dockerengine.Node{}, services: map[string]*dockerengine.Service{}, clock: time.Unix(1e9, 0)}
	for _, n := range nodes {
		m.nodes[n.ID] = n
	}
	return m
}

// node is a ready, active node with memory bytes.
func node(id string, memory int64) dockerengine.Node {
	return dockerengine.Node{ID: id, State: "ready", Availability: "active", Addr: "addr-" + id, MemoryBytes: memory}
}

// addService adds a service of another broker (or of the operator) pinned to nodeID.
func (m *fakeManager) addService(name, nodeID string, memory int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	id := fmt.Sprintf("svc%d", m.nextID)
	m.services[id] = &dockerengine.Service{ID: id, Name: name, NodeID: nodeID, MemoryReservation: memory}
}

// addTask adds a task of the service name in state, created after every task before it.
func (m *fakeManager) addTask(name, state, desired, containerID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	svc := m.find(name)
	m.clock = m.clock.Add(time.Second)
	m.tasks = append(m.tasks, dockerengine.Task{ID: fmt.Sprintf("task%d", len(m.tasks)), ServiceID: svc.ID, NodeID: svc.NodeID, CreatedAt: m.clock, State: state, DesiredState: desired, ContainerID: containerID})
}

func (m *fakeManager) find(idOrName string) *dockerengine.Service {
	if s, ok := m.services[idOrName]; ok {
		return s
	}
	for _, s := range m.services {
		if s.Name == idOrName {
			return s
		}
	}
	return nil
}

func (m *fakeManager) CreateService(_ context.Context, spec dockerengine.ServiceSpec) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.find(spec.Container.Name) != nil {
		return "", fmt.Errorf("service %s exists", spec.Container.Name)
	}
	m.created = append(m.created, spec)
	m.nextID++
	id := fmt.Sprintf("svc%d", m.nextID)
	var ports []dockerengine.PortMapping
	for _, p := range spec.Container.Ports {
		ports = append(ports, dockerengine.PortMapping{ContainerPort: p.ContainerPort, HostPort: p.HostPort})
	}
	m.services[id] = &dockerengine.Service{ID: id, Name: spec.Container.Name, Image: spec.Container.Image, Labels: spec.Container.Labels,
		NodeID: spec.NodeID, Replicas: spec.Replicas, MemoryReservation: spec.MemoryReservation, RestartCondition: "any", Ports: ports}
	return id, nil
}

func (m *fakeManager) InspectService(_ context.Context, idOrName string) (dockerengine.Service, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.find(idOrName); s != nil {
		return *s, nil
	}
	return dockerengine.Service{}, fmt.Errorf("service %s: %w", idOrName, dockerengine.ErrNotFound)
}

func (m *fakeManager) ScaleService(_ context.Context, idOrName string, replicas uint64) error {
	m.mu.Lock()
	s := m.find(idOrName)
	if s == nil {
		m.mu.Unlock()
		return fmt.Errorf("service %s: %w", idOrName, dockerengine.ErrNotFound)
	}
	s.Replicas = replicas
	for i, t := range m.tasks {
		if t.ServiceID == s.ID && t.DesiredState == "running" {
			m.tasks[i].DesiredState = "shutdown"
			if m.nodes[t.NodeID].State == "ready" { // a node that is down does not report
				m.tasks[i].State = "shutdown"
			}
		}
	}
	name := s.Name
	m.mu.Unlock()
	if replicas == 1 {
		m.addTask(name, "running", "running", "ctr-"+name)
	}
	return nil
}

func (m *fakeManager) RemoveService(_ context.Context, idOrName string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.find(idOrName)
	if s == nil {
		return fmt.Errorf("service %s: %w", idOrName, dockerengine.ErrNotFound)
	}
	delete(m.services, s.ID)
	var kept []dockerengine.Task
	for _, t := range m.tasks {
		if t.ServiceID != s.ID {
			kept = append(kept, t)
		}
	}
	m.tasks = kept
	return nil
}

func (m *fakeManager) ListServices(_ context.Context, labels map[string]string) ([]dockerengine.Service, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []dockerengine.Service
	for _, s := range m.services {
		matches := true
		for k, v := range labels {
			matches = matches && s.Labels[k] == v
		}
		if matches {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (m *fakeManager) ListTasks(_ context.Context, serviceID string) ([]dockerengine.Task, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []dockerengine.Task
	for _, t := range m.tasks {
		if serviceID == "" || t.ServiceID == serviceID {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *fakeManager) ListNodes(context.Context) ([]dockerengine.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Collect(maps.Values(m.nodes)), nil
}

func (m *fakeManager) InspectNode(_ context.Context, id string) (dockerengine.Node, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.nodes[id]; ok {
		return n, nil
	}
	return dockerengine.Node{}, fmt.Errorf("node %s: %w", id, dockerengine.ErrNotFound)
}

func (m *fakeManager) setNodeState(id, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.nodes[id]
	n.State = state
	m.nodes[id] = n
}

// fakeNode is one node's engine: it knows its images and containers by id and records the
// calls made to it.
type fakeNode struct {
	mu         sync.Mutex
	images     map[string]dockerengine.Image
	containers map[string]dockerengine.Container
	files      map[string][]byte             // by path, in every container
	events     []dockerengine.ContainerEvent // sent to the first follower of the events
	calls      []string                      // "exec ctr-x", "create scratch", ...
}

func newFakeNode() *fakeNode {
	return &fakeNode{images: map[string]dockerengine.Image{}, containers: map[string]dockerengine.Container{}, files: map[string][]byte{}}
}

func (n *fakeNode) record(call string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, call)
}

func (n *fakeNode) recorded() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.calls...)
}

func (n *fakeNode) InspectImage(_ context.Context, ref string) (dockerengine.Image, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if img, ok := n.images[ref]; ok {
		return img, nil
	}
	return dockerengine.Image{}, fmt.Errorf("image %s: %w", ref, dockerengine.ErrNotFound)
}

func (n *fakeNode) PullImage(_ context.Context, ref string, _ func(dockerengine.Progress)) error {
	n.record("pull " + ref)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.images[ref] = dockerengine.Image{ID: "sha256:" + ref}
	return nil
}

func (n *fakeNode) CreateContainer(_ context.Context, spec dockerengine.ContainerSpec) (string, error) {
	n.record("create " + spec.Image)
	n.mu.Lock()
	defer n.mu.Unlock()
	id := fmt.Sprintf("scratch%d", len(n.containers))
	n.containers[id] = dockerengine.Container{ID: id, Image: spec.Image, State: "created"}
	return id, nil
}

func (n *fakeNode) RemoveContainer(_ context.Context, id string) error {
	n.record("remove " + id)
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.containers, id)
	return nil
}

func (n *fakeNode) InspectContainer(_ context.Context, id string) (dockerengine.Container, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.containers[id]; ok {
		return c, nil
	}
	return dockerengine.Container{}, fmt.Errorf("container %s: %w", id, dockerengine.ErrNotFound)
}

func (n *fakeNode) ListContainers(_ context.Context, labels map[string]string) ([]dockerengine.Container, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []dockerengine.Container
	for _, c := range n.containers {
		matches := true
		for k, v := range labels {
			matches = matches && c.Labels[k] == v
		}
		if matches {
			out = append(out, c)
		}
	}
	return out, nil
}

func (n *fakeNode) CreateExec(_ context.Context, id string, _ dockerengine.Exec) (string, error) {
	n.record("exec " + id)
	return "exec-" + id, nil
}

func (n *fakeNode) StartExec(_ context.Context, execID string) (dockerengine.ExecResult, error) {
	n.record("start " + execID)
	return dockerengine.ExecResult{}, nil
}

func (n *fakeNode) InspectExec(_ context.Context, execID string) (dockerengine.ExecState, error) {
	n.record("inspect " + execID)
	return dockerengine.ExecState{}, nil
}

func (n *fakeNode) StreamExec(_ context.Context, execID string, _ io.Reader, _ io.Writer) (dockerengine.ExecResult, error) {
	n.record("stream " + execID)
	return dockerengine.ExecResult{}, nil
}

func (n *fakeNode) ReadFile(_ context.Context, id, path string) ([]byte, error) {
	n.record("read " + id + " " + path)
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.files[path], nil
}

func (n *fakeNode) ContainerLogs(_ context.Context, id string, _ int) ([]byte, error) {
	n.record("logs " + id)
	return []byte("log of " + id), nil
}

func (n *fakeNode) ContainerEvents(ctx context.Context, _ map[string]string, handle func(dockerengine.ContainerEvent)) error {
	n.mu.Lock()
	events := n.events
	n.events = nil
	n.mu.Unlock()
	for _, ev := range events {
		handle(ev)
	}
	<-ctx.Done()
	return ctx.Err()
}
