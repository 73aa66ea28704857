package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// errNoContainer is what work on a service's container meets when its task has none running.
var errNoContainer = errors.New("its task has no running container")

// member is the node of the swarm node id as the Engine reaches it.
func (e *Engine) member(id string) (Node, error) {
	n, ok := e.cfg.Nodes[id]
	if !ok {
		return Node{}, fmt.Errorf("swarm node %s has no engine in the broker's configuration: add it to the nodes", id)
	}
	return n, nil
}

// runningContainer finds the service idOrName's running container: its node and its id there.
func (e *Engine) runningContainer(ctx context.Context, idOrName string) (Node, string, error) {
	svc, tasks, err := e.serviceTasks(ctx, idOrName)
	if err != nil {
		return Node{}, "", err
	}
	// The task of a node that went down is the last the managers heard of, or its
	// replacement waiting for the node.
	if err := e.nodeUp(ctx, svc.Name, svc.NodeID); err != nil {
		return Node{}, "", err
	}
	task, ok := currentTask(tasks)
	if !ok || task.State != "running" || task.ContainerID == "" {
		return Node{}, "", fmt.Errorf("service %s: %w", svc.Name, errNoContainer)
	}
	n, err := e.member(task.NodeID)
	return n, task.ContainerID, err
}

func (e *Engine) serviceTasks(ctx context.Context, idOrName string) (dockerengine.Service, []dockerengine.Task, error) {
	svc, err := e.cfg.Manager.InspectService(ctx, idOrName)
	if err != nil {
		return dockerengine.Service{}, nil, err
	}
	tasks, err := e.cfg.Manager.ListTasks(ctx, svc.ID)
	return svc, tasks, err
}

// execSeparator joins a node id and an exec id there into the Engine's exec id, so that an
// exec id recorded before a broker restart still names its node.
const execSeparator = "/"

// CreateExec prepares a command in the service's running container, on its node.
func (e *Engine) CreateExec(ctx context.Context, idOrName string, ex dockerengine.Exec) (string, error) {
	svc, tasks, err := e.serviceTasks(ctx, idOrName)
	if err != nil {
		return "", err
	}
	if err := e.nodeUp(ctx, svc.Name, svc.NodeID); err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	task, ok := currentTask(tasks)
	if !ok || task.State != "running" || task.ContainerID == "" {
		return "", fmt.Errorf("exec in service %s: %w", svc.Name, errNoContainer)
	}
	n, err := e.member(task.NodeID)
	if err != nil {
		return "", err
	}
	id, err := n.Engine.CreateExec(ctx, task.ContainerID, ex)
	if err != nil {
		return "", err
	}
	return task.NodeID + execSeparator + id, nil
}

// execOn splits an exec id of CreateExec into the engine of its node and its id there.
func (e *Engine) execOn(execID string) (NodeEngine, string, error) {
	nodeID, id, ok := strings.Cut(execID, execSeparator)
	if !ok {
		return nil, "", fmt.Errorf("exec id %q names no swarm node (node/exec)", execID)
	}
	n, err := e.member(nodeID)
	return n.Engine, id, err
}

// StartExec runs the command of CreateExec on its node.
func (e *Engine) StartExec(ctx context.Context, execID string) (dockerengine.ExecResult, error) {
	engine, id, err := e.execOn(execID)
	if err != nil {
		return dockerengine.ExecResult{}, err
	}
	return engine.StartExec(ctx, id)
}

// InspectExec reports the command of CreateExec, asking its node.
func (e *Engine) InspectExec(ctx context.Context, execID string) (dockerengine.ExecState, error) {
	engine, id, err := e.execOn(execID)
	if err != nil {
		return dockerengine.ExecState{}, err
	}
	return engine.InspectExec(ctx, id)
}

// StreamExec runs the command of CreateExec on its node with stdin and stdout attached.
func (e *Engine) StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error) {
	engine, id, err := e.execOn(execID)
	if err != nil {
		return dockerengine.ExecResult{}, err
	}
	return engine.StreamExec(ctx, id, stdin, stdout)
}

// ReadFile reads a file of the service's container on its node. A service without a running
// container (created, not started yet) has its file read from a container of its image that
// is created on its node for the purpose and removed after.
func (e *Engine) ReadFile(ctx context.Context, id, path string) ([]byte, error) {
	n, containerID, err := e.runningContainer(ctx, id)
	if err == nil {
		return n.Engine.ReadFile(ctx, containerID, path)
	}
	if !errors.Is(err, errNoContainer) {
		return nil, err
	}
	svc, err := e.cfg.Manager.InspectService(ctx, id)
	if err != nil {
		return nil, err
	}
	if n, err = e.member(svc.NodeID); err != nil {
		return nil, err
	}
	scratch, err := n.Engine.CreateContainer(ctx, dockerengine.ContainerSpec{Image: svc.Image})
	if err != nil {
		return nil, fmt.Errorf("reading %s from the image of service %s: %w", path, svc.Name, err)
	}
	defer func() { _ = n.Engine.RemoveContainer(context.WithoutCancel(ctx), scratch) }()
	return n.Engine.ReadFile(ctx, scratch, path)
}

// ContainerLogs returns the last lines of the log of the service's newest container, on its
// node, whether it still runs or not.
func (e *Engine) ContainerLogs(ctx context.Context, id string, lines int) ([]byte, error) {
	svc, tasks, err := e.serviceTasks(ctx, id)
	if err != nil {
		return nil, err
	}
	var newest *dockerengine.Task
	for i, t := range tasks {
		if t.ContainerID != "" && (newest == nil || t.CreatedAt.After(newest.CreatedAt)) {
			newest = &tasks[i]
		}
	}
	if newest == nil {
		return nil, fmt.Errorf("logs of service %s: no task of it has had a container", svc.Name)
	}
	n, err := e.member(newest.NodeID)
	if err != nil {
		return nil, err
	}
	return n.Engine.ContainerLogs(ctx, newest.ContainerID, lines)
}

// eventsRetry is the pause before the Engine follows a node's events again after its stream
// broke (its dockerd restarted or the node is down).
const eventsRetry = 2 * time.Second

// ContainerEvents follows the container events of every node until ctx ends, a node's stream
// that breaks being followed again after a pause, so that a node that is down does not stop
// the others' events. Each event names the service (ContainerID is the service id, Name its
// name), as the broker knows the container. handle is called for one event at a time.
func (e *Engine) ContainerEvents(ctx context.Context, labels map[string]string, handle func(dockerengine.ContainerEvent)) error {
	var mu sync.Mutex
	serviceEvent := func(ev dockerengine.ContainerEvent) {
		if id := ev.Labels[serviceIDLabel]; id != "" {
			ev.ContainerID, ev.Name = id, ev.Labels[serviceNameLabel]
		}
		mu.Lock()
		defer mu.Unlock()
		handle(ev)
	}
	var wg sync.WaitGroup
	for _, n := range e.cfg.Nodes {
		wg.Go(func() {
			for ctx.Err() == nil {
				_ = n.Engine.ContainerEvents(ctx, labels, serviceEvent)
				select {
				case <-ctx.Done():
				case <-time.After(eventsRetry):
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// InspectImage reports the image ref as the nodes that are ready hold it. A node without it
// makes the image missing (IsNotFound), so that the broker pulls it onto every node.
func (e *Engine) InspectImage(ctx context.Context, ref string) (dockerengine.Image, error) {
	nodes, err := e.readyNodes(ctx)
	if err != nil {
		return dockerengine.Image{}, err
	}
	var img dockerengine.Image
	for _, n := range nodes {
		if img, err = n.Engine.InspectImage(ctx, ref); err != nil {
			return dockerengine.Image{}, err
		}
	}
	return img, nil
}

// PullImage pulls ref onto every node that is ready, one after the other.
func (e *Engine) PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error {
	nodes, err := e.readyNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := n.Engine.PullImage(ctx, ref, report); err != nil {
			return err
		}
	}
	return nil
}

// ReadyNodes are the ids of the members that the managers hear from and the Engine can reach:
// those that work concerning every node reaches now (a node that is down keeps what it holds
// until it returns).
func (e *Engine) ReadyNodes(ctx context.Context) ([]string, error) {
	nodes, err := e.cfg.Manager.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	var ready []string
	for _, n := range nodes {
		if _, ok := e.cfg.Nodes[n.ID]; ok && n.State == "ready" {
			ready = append(ready, n.ID)
		}
	}
	return ready, nil
}

// readyNodes are the members of ReadyNodes, at least one.
func (e *Engine) readyNodes(ctx context.Context) ([]Node, error) {
	ids, err := e.ReadyNodes(ctx)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("no swarm node is ready: the managers hear from none of the broker's nodes")
	}
	ready := make([]Node, len(ids))
	for i, id := range ids {
		ready[i] = e.cfg.Nodes[id]
	}
	return ready, nil
}
