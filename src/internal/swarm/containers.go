package swarm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// pollInterval is how often Stop and Remove look whether the swarm finished.
const pollInterval = 200 * time.Millisecond

// sharesPerCPU is Docker's CPU weight of one full CPU: cpu_shares 1024 reserves one CPU.
const sharesPerCPU = 1024

// CreateContainer creates the service of spec, stopped (zero replicas), on spec.Node (the node
// Place chose for it when that is empty), and returns the service id, which every other call takes as the container's
// id. Its task runs the image by the id the node has for spec.Image, which the node then does
// not try to pull first. A swarm honours cpu_shares only as a reservation: shares/1024 CPUs
// are set aside on the node for the scheduler; the container runs with the default CPU weight.
//
// A create that fails keeps its placement, so that the broker's next attempt goes to the node
// where it made the instance's directories; stopping or removing the instance forgets it.
func (e *Engine) CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error) {
	if refused := refusedSettings(spec); len(refused) > 0 {
		return "", fmt.Errorf("container %s: a swarm service cannot take %s", spec.Name, strings.Join(refused, ", "))
	}
	nodeID := spec.Node
	if nodeID == "" {
		var err error
		if nodeID, err = e.place(ctx, spec.Name, spec.Memory); err != nil {
			return "", err
		}
	}
	n, err := e.member(nodeID)
	if err != nil {
		return "", err
	}
	img, err := n.Engine.InspectImage(ctx, spec.Image)
	if err != nil {
		return "", err
	}
	id, err := e.cfg.Manager.CreateService(ctx, dockerengine.ServiceSpec{
		Container:           spec,
		ImageID:             img.ID,
		NodeID:              nodeID,
		Replicas:            0,
		MemoryReservation:   spec.Memory,
		NanoCPUsReservation: spec.CPUShares * 1e9 / sharesPerCPU,
		StopGrace:           e.cfg.StopGrace,
	})
	if err != nil {
		return "", err
	}
	e.placed(spec.Name)
	return id, nil
}

// StartContainer scales the service to one replica; the swarm starts its task on its node. On
// a node that is down the task starts only when the node returns: that is an error
// (dockerengine.ErrNodeDown), so that the broker reports the instance instead of counting it
// started.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	svc, err := e.cfg.Manager.InspectService(ctx, id)
	if err != nil {
		return err
	}
	if err := e.cfg.Manager.ScaleService(ctx, svc.ID, 1); err != nil {
		return err
	}
	if err := e.nodeUp(ctx, svc.Name, svc.NodeID); err != nil {
		return err
	}
	tasks, err := e.cfg.Manager.ListTasks(ctx, svc.ID)
	if err != nil {
		return err
	}
	if task, ok := currentTask(tasks); ok && stranded(task, time.Now()) {
		return e.replaceTask(ctx, svc.ID)
	}
	return nil
}

// strandedAfter is how long a task may wait for the node of its service, which is ready,
// before the Engine replaces it. dockerd 20.10's scheduler leaves a task made while its node
// was down pending ("no suitable node") after the node returns, where a new task of the
// service is placed at once (moby/moby#31014, #32999).
const strandedAfter = 10 * time.Second

// stranded reports whether task, the current one of a service whose node is ready, has waited
// for a node longer than the scheduler takes to place one.
func stranded(task dockerengine.Task, now time.Time) bool {
	return task.State == "pending" && task.DesiredState == "running" && now.Sub(task.CreatedAt) > strandedAfter
}

// replaceTask has the swarm replace the service's task with a new one, which its scheduler
// places: scaled to zero and back to one.
func (e *Engine) replaceTask(ctx context.Context, id string) error {
	if err := e.cfg.Manager.ScaleService(ctx, id, 0); err != nil {
		return err
	}
	return e.cfg.Manager.ScaleService(ctx, id, 1)
}

// RestartStranded replaces the stranded tasks of the services carrying every label of labels
// whose node is ready and active: the instances of a node that returned run again. It returns
// the names of the services whose task it replaced. The broker calls it now and then.
func (e *Engine) RestartStranded(ctx context.Context, labels map[string]string) ([]string, error) {
	f, err := e.fleet(ctx, labels)
	if err != nil {
		return nil, err
	}
	ready := map[string]bool{}
	for _, n := range f.nodes {
		// A drained node (the docker job's drain while its VM stops) keeps its tasks pending
		// on purpose: replacing them would only make new pending ones.
		ready[n.ID] = n.State == "ready" && n.Availability == "active"
	}
	now := time.Now()
	var replaced []string
	var errs []error
	for _, svc := range f.services {
		task, ok := currentTask(f.tasks[svc.ID])
		if svc.Replicas != 1 || !ready[svc.NodeID] || !ok || !stranded(task, now) {
			continue
		}
		if err := e.replaceTask(ctx, svc.ID); err != nil {
			errs = append(errs, fmt.Errorf("replacing the stranded task of service %s: %w", svc.Name, err))
			continue
		}
		replaced = append(replaced, svc.Name)
	}
	return replaced, errors.Join(errs...)
}

// nodeUp fails with dockerengine.ErrNodeDown when the managers do not hear from nodeID, the
// node of the service name.
func (e *Engine) nodeUp(ctx context.Context, name, nodeID string) error {
	node, err := e.cfg.Manager.InspectNode(ctx, nodeID)
	if err != nil {
		return err
	}
	if node.State != "ready" {
		return fmt.Errorf("service %s: node %s (%s) is %s: %w", name, node.ID, e.address(node), node.State, dockerengine.ErrNodeDown)
	}
	return nil
}

// StopContainer scales the service to zero and waits until its task stopped. The task gets the
// grace of Config.StopGrace, which its service was created with, not grace: changing it would
// replace the task before it stops.
func (e *Engine) StopContainer(ctx context.Context, id string, _ time.Duration) error {
	svc, err := e.inspectOrForget(ctx, id)
	if err != nil {
		return err
	}
	if err := e.cfg.Manager.ScaleService(ctx, svc.ID, 0); err != nil {
		return err
	}
	return e.waitStopped(ctx, svc)
}

// RemoveContainer removes the service and waits until its node removed the task's container,
// so that its name and host ports are free again when it returns. A node that is down removes
// it when it returns.
func (e *Engine) RemoveContainer(ctx context.Context, id string) error {
	svc, err := e.inspectOrForget(ctx, id)
	if err != nil {
		return err
	}
	if err := e.cfg.Manager.RemoveService(ctx, svc.ID); err != nil {
		return err
	}
	n, err := e.member(svc.NodeID)
	if err != nil {
		return nil // nothing to wait on: the broker does not reach the node
	}
	for {
		left, err := n.Engine.ListContainers(ctx, map[string]string{serviceIDLabel: svc.ID})
		switch {
		case dockerengine.IsUnavailable(err):
			return nil
		case err != nil:
			return err
		case len(left) == 0:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing service %s: its container on node %s is still there: %w", svc.Name, svc.NodeID, context.Cause(ctx))
		case <-time.After(pollInterval):
		}
	}
}

// serviceIDLabel and serviceNameLabel are the labels a node gives the container of a swarm task.
const (
	serviceIDLabel   = "com.docker.swarm.service.id"
	serviceNameLabel = "com.docker.swarm.service.name"
)

// inspectOrForget inspects the service idOrName and, when there is none, forgets a placement
// decided under that name: the broker is taking down an instance whose create failed.
func (e *Engine) inspectOrForget(ctx context.Context, idOrName string) (dockerengine.Service, error) {
	svc, err := e.cfg.Manager.InspectService(ctx, idOrName)
	if dockerengine.IsNotFound(err) {
		e.placed(idOrName)
	}
	return svc, err
}

// waitStopped waits until no task of the service runs or is about to. A task on a node that
// is down stops only when the node returns: that is an error, and the caller goes on.
func (e *Engine) waitStopped(ctx context.Context, svc dockerengine.Service) error {
	for {
		tasks, err := e.cfg.Manager.ListTasks(ctx, svc.ID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(tasks, func(t dockerengine.Task) bool { return !ended(t) }) {
			return nil
		}
		if err := e.nodeUp(ctx, svc.Name, svc.NodeID); err != nil {
			return fmt.Errorf("stopping: %w; its task stops when the node returns", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopping service %s: its task still runs: %w", svc.Name, context.Cause(ctx))
		case <-time.After(pollInterval):
		}
	}
}

// ended reports whether a task is over: it will not run (again).
func ended(t dockerengine.Task) bool {
	switch t.State {
	case "complete", "shutdown", "failed", "rejected", "orphaned", "remove":
		return true
	}
	return false
}

// NodeDown is the state of a container whose node the managers do not hear from.
const NodeDown = "node down"

// InspectContainer reports the service idOrName as the container it stands for: the state of
// its current task, read from its node's engine once the task has a container, with its ports
// at the node's address. A container on a node that is down is in state NodeDown, not running.
func (e *Engine) InspectContainer(ctx context.Context, idOrName string) (dockerengine.Container, error) {
	svc, err := e.cfg.Manager.InspectService(ctx, idOrName)
	if err != nil {
		return dockerengine.Container{}, err
	}
	tasks, err := e.cfg.Manager.ListTasks(ctx, svc.ID)
	if err != nil {
		return dockerengine.Container{}, err
	}
	node, err := e.cfg.Manager.InspectNode(ctx, svc.NodeID)
	if err != nil {
		return dockerengine.Container{}, err
	}
	c := e.container(svc, tasks, node)
	task, _ := currentTask(tasks)
	member, ok := e.cfg.Nodes[node.ID]
	// A task still starting may have a container that runs already: its node knows a moment
	// before the managers hear it from the node's agent.
	starting := c.State == "created" && task.ContainerID != "" && task.DesiredState == "running"
	if !ok || !c.Running && !starting {
		return c, nil
	}
	onNode, err := member.Engine.InspectContainer(ctx, task.ContainerID)
	switch {
	case dockerengine.IsUnavailable(err):
		c.State, c.Running = NodeDown, false
		return c, nil
	case starting && (err != nil || !onNode.Running):
		return c, nil // the managers tell how its start ends
	case dockerengine.IsNotFound(err):
		// The task's container ended and went since the manager last heard: the service
		// exists all the same, which a not-found error would deny.
		c.State, c.Running = "exited", false
		return c, nil
	case err != nil:
		return dockerengine.Container{}, err
	}
	// Not its IPAddress: that is an address on the node's own bridge, which the broker's
	// machine does not reach (or where one of its own containers may have it).
	c.State, c.Running, c.Health, c.Pid, c.ExitCode = onNode.State, onNode.Running, onNode.Health, onNode.Pid, onNode.ExitCode
	return c, nil
}

// ListContainers lists the services carrying every label of labels as containers, in the
// state of their current task; the health of a running one comes from its node's engine.
func (e *Engine) ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error) {
	f, err := e.fleet(ctx, labels)
	if err != nil {
		return nil, err
	}
	byID := map[string]dockerengine.Node{}
	for _, n := range f.nodes {
		byID[n.ID] = n
	}
	health := e.health(ctx, f.nodes, labels)
	out := make([]dockerengine.Container, 0, len(f.services))
	for _, svc := range f.services {
		c := e.container(svc, f.tasks[svc.ID], byID[svc.NodeID])
		task, _ := currentTask(f.tasks[svc.ID])
		if h, ok := health[task.ContainerID]; ok && c.Running {
			c.Health = h
		}
		out = append(out, c)
	}
	return out, nil
}

// health is the health of the containers carrying labels on the nodes that are ready, by
// container id. A node that does not answer leaves its containers out.
func (e *Engine) health(ctx context.Context, nodes []dockerengine.Node, labels map[string]string) map[string]string {
	health := map[string]string{}
	for _, n := range nodes {
		node, ok := e.cfg.Nodes[n.ID]
		if !ok || n.State != "ready" {
			continue
		}
		containers, err := node.Engine.ListContainers(ctx, labels)
		if err != nil {
			continue
		}
		for _, c := range containers {
			health[c.ID] = c.Health
		}
	}
	return health
}

// container is the service svc with its tasks on node as the engine's container, in the
// terms of its current task alone.
func (e *Engine) container(svc dockerengine.Service, tasks []dockerengine.Task, node dockerengine.Node) dockerengine.Container {
	c := dockerengine.Container{ID: svc.ID, Name: svc.Name, Image: svc.Image, Labels: svc.Labels, Health: "none", Node: svc.NodeID}
	for _, p := range svc.Ports {
		p.HostIP = e.address(node)
		c.Ports = append(c.Ports, p)
	}
	for _, t := range tasks {
		if t.DesiredState != "running" && (t.State == "failed" || t.State == "complete" || t.State == "rejected") {
			c.RestartCount++ // the swarm replaces a task that ended by itself with a new one
		}
	}
	task, ok := currentTask(tasks)
	switch {
	case node.State != "ready":
		c.State = NodeDown
	case !ok:
		c.State = "created"
	case task.State == "running" && task.ContainerID != "":
		c.State, c.Running = "running", true
	case ended(task) && (svc.Replicas == 0 || svc.RestartCondition == "none"):
		c.State, c.ExitCode = "exited", task.ExitCode
	case ended(task) || c.RestartCount > 0:
		// The swarm starts a new task after its restart delay, as the engine restarts a
		// container.
		c.State, c.ExitCode = "restarting", task.ExitCode
	default:
		c.State = "created"
	}
	return c
}

// currentTask is the newest task of a service: the one running or about to, else the last one
// that ran.
func currentTask(tasks []dockerengine.Task) (dockerengine.Task, bool) {
	if len(tasks) == 0 {
		return dockerengine.Task{}, false
	}
	return slices.MaxFunc(tasks, func(a, b dockerengine.Task) int { return a.CreatedAt.Compare(b.CreatedAt) }), true
}

// fleet is the swarm as its managers see it at one moment: the services carrying every label
// of labels, their tasks by service id, and the nodes.
type fleet struct {
	services []dockerengine.Service
	tasks    map[string][]dockerengine.Task
	nodes    []dockerengine.Node
}

func (e *Engine) fleet(ctx context.Context, labels map[string]string) (fleet, error) {
	services, err := e.cfg.Manager.ListServices(ctx, labels)
	if err != nil {
		return fleet{}, err
	}
	tasks, err := e.cfg.Manager.ListTasks(ctx, "")
	if err != nil {
		return fleet{}, err
	}
	nodes, err := e.cfg.Manager.ListNodes(ctx)
	if err != nil {
		return fleet{}, err
	}
	f := fleet{services: services, tasks: map[string][]dockerengine.Task{}, nodes: nodes}
	for _, t := range tasks {
		f.tasks[t.ServiceID] = append(f.tasks[t.ServiceID], t)
	}
	return f, nil
}
