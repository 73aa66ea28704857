package broker

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// fakeEngine is an in-memory Docker Engine in the style of docker/cli's fakes: images and
// containers live in maps, every call is counted, and func fields (hooks) inject failures and
// delays. A missing image or container is an error wrapping dockerengine.ErrNotFound, so
// dockerengine.IsNotFound works as with the real engine. Like the real client, every call
// fails once its context is done.
type fakeEngine struct {
	mu sync.Mutex

	// images are the images the engine has; registry those a pull can fetch.
	images   map[string]dockerengine.Image
	registry map[string]dockerengine.Image

	containers map[string]*fakeContainer // by id
	nextID     int

	// ipAddress is the address InspectContainer reports for a running container. Empty (the
	// default) makes the broker's default TCP health check pass on "running" alone.
	ipAddress string

	// Hooks; nil means the default behaviour.
	inspectImageFunc func(ctx context.Context, ref string) error                                                         // before the lookup
	pullFunc         func(ctx context.Context, ref string) error                                                         // instead of fetching from registry
	createFunc       func(ctx context.Context, spec dockerengine.ContainerSpec) error                                    // before creating
	startFunc        func(ctx context.Context, c *fakeContainer) error                                                   // before starting
	stopFunc         func(ctx context.Context, c *fakeContainer) error                                                   // before stopping
	removeFunc       func(ctx context.Context, id string) error                                                          // before removing
	afterInspect     func(c *fakeContainer)                                                                              // after inspecting, under mu
	afterStart       func(c *fakeContainer)                                                                              // after starting, under mu
	execFunc         func(ctx context.Context, containerID string, x dockerengine.Exec) (dockerengine.ExecResult, error) // instead of exit status 0
	streamFunc       func(ctx context.Context, containerID string, x dockerengine.Exec, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error)
	// logs is the output of every container; events, when set, feeds ContainerEvents.
	logs   []byte
	events chan dockerengine.ContainerEvent
	// startGate, when set, blocks StartContainer until it is closed (or the context ends).
	startGate chan struct{}
	// startEntered, when set, receives the id of every StartContainer call as it begins.
	startEntered chan string

	// Counters and records of calls, for assertions.
	pulls   map[string]int
	creates []dockerengine.ContainerSpec
	starts  int
	removes int
	passwd  []byte // the /etc/passwd of every image
	execs   []dockerengine.Exec
	// execStates are the execs created, by id.
	execStates map[string]*fakeExec
}

type fakeExec struct {
	containerID string
	exec        dockerengine.Exec
	state       dockerengine.ExecState
}

type fakeContainer struct {
	dockerengine.Container
	Spec dockerengine.ContainerSpec
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		images:     map[string]dockerengine.Image{},
		registry:   map[string]dockerengine.Image{},
		containers: map[string]*fakeContainer{},
		pulls:      map[string]int{},
		execStates: map[string]*fakeExec{},
		passwd:     []byte("root:x:0:0:root:/root:/bin/sh\nredis:x:999:1000::/data:/bin/sh\n"),
	}
}

// addImage makes ref available locally, exposing ports.
func (e *fakeEngine) addImage(ref string, ports ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[ref] = dockerengine.Image{ID: "sha256:" + ref, ExposedPorts: ports}
}

// addRemoteImage makes ref pullable but not present.
func (e *fakeEngine) addRemoteImage(ref string, ports ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.registry[ref] = dockerengine.Image{ID: "sha256:" + ref, ExposedPorts: ports}
}

func (e *fakeEngine) hasImage(ref string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.images[ref]
	return ok
}

func notFound(what string) error {
	return fmt.Errorf("%s: %w", what, cerrdefs.ErrNotFound)
}

// lookupLocked finds a container by id or name.
func (e *fakeEngine) lookupLocked(idOrName string) *fakeContainer {
	if c, ok := e.containers[idOrName]; ok {
		return c
	}
	for _, c := range e.containers {
		if c.Name == idOrName {
			return c
		}
	}
	return nil
}

func (e *fakeEngine) InspectImage(ctx context.Context, ref string) (dockerengine.Image, error) {
	if err := ctx.Err(); err != nil {
		return dockerengine.Image{}, err
	}
	if e.inspectImageFunc != nil {
		if err := e.inspectImageFunc(ctx, ref); err != nil {
			return dockerengine.Image{}, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.images[ref]
	if !ok {
		return dockerengine.Image{}, notFound("inspecting image " + ref)
	}
	return img, nil
}

func (e *fakeEngine) PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	e.pulls[ref]++
	e.mu.Unlock()
	if e.pullFunc != nil {
		if err := e.pullFunc(ctx, ref); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img, ok := e.registry[ref]
	if !ok {
		return fmt.Errorf("pulling image %s: pull access denied for %s, repository does not exist or may require 'docker login'", ref, ref)
	}
	e.images[ref] = img
	if report != nil {
		report(dockerengine.Progress{ID: ref, Status: "Pull complete"})
	}
	return nil
}

func (e *fakeEngine) CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if e.createFunc != nil {
		if err := e.createFunc(ctx, spec); err != nil {
			return "", err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.creates = append(e.creates, spec)
	if _, ok := e.images[spec.Image]; !ok {
		return "", notFound("creating container " + spec.Name + ": no such image " + spec.Image)
	}
	if e.lookupLocked(spec.Name) != nil {
		return "", fmt.Errorf("creating container %s: the name is already in use: %w", spec.Name, cerrdefs.ErrConflict)
	}
	e.nextID++
	id := fmt.Sprintf("c%04d", e.nextID)
	e.containers[id] = &fakeContainer{
		Container: dockerengine.Container{
			ID: id, Name: spec.Name, Image: spec.Image, Labels: maps.Clone(spec.Labels),
			State: "created", Ports: slices.Clone(spec.Ports),
		},
		Spec: spec,
	}
	return id, nil
}

func (e *fakeEngine) StartContainer(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.startEntered != nil {
		e.startEntered <- id
	}
	if e.startGate != nil {
		select {
		case <-e.startGate:
		case <-ctx.Done():
			return fmt.Errorf("starting container %s: %w", id, context.Cause(ctx))
		}
	}
	e.mu.Lock()
	c := e.lookupLocked(id)
	e.mu.Unlock()
	if c == nil {
		return notFound("starting container " + id)
	}
	if e.startFunc != nil {
		if err := e.startFunc(ctx, c); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.starts++
	c.State, c.Running, c.Pid, c.ExitCode = "running", true, 1000+e.starts, 0
	if e.afterStart != nil {
		e.afterStart(c)
	}
	return nil
}

func (e *fakeEngine) StopContainer(ctx context.Context, id string, _ time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	c := e.lookupLocked(id)
	e.mu.Unlock()
	if c == nil {
		return notFound("stopping container " + id)
	}
	if e.stopFunc != nil {
		if err := e.stopFunc(ctx, c); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.Running {
		c.State, c.Running, c.Pid, c.ExitCode = "exited", false, 0, 0
	}
	return nil
}

func (e *fakeEngine) RemoveContainer(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.removeFunc != nil {
		if err := e.removeFunc(ctx, id); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupLocked(id)
	if c == nil {
		return notFound("removing container " + id)
	}
	e.removes++
	delete(e.containers, c.ID)
	return nil
}

func (e *fakeEngine) InspectContainer(ctx context.Context, idOrName string) (dockerengine.Container, error) {
	if err := ctx.Err(); err != nil {
		return dockerengine.Container{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupLocked(idOrName)
	if c == nil {
		return dockerengine.Container{}, notFound("inspecting container " + idOrName)
	}
	out := c.Container
	if e.afterInspect != nil {
		e.afterInspect(c) // the next inspect sees what happened in between
	}
	out.Labels = maps.Clone(c.Labels)
	out.Ports = slices.Clone(c.Ports)
	if c.Running {
		out.IPAddress = e.ipAddress
	}
	return out, nil
}

func (e *fakeEngine) ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []dockerengine.Container
	for _, c := range e.containers {
		match := true
		for k, v := range labels {
			if c.Labels[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, dockerengine.Container{ID: c.ID, Name: c.Name, Image: c.Image, Labels: maps.Clone(c.Labels), State: c.State, Running: c.Running, Health: c.Health})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (e *fakeEngine) CreateExec(ctx context.Context, idOrName string, x dockerengine.Exec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupLocked(idOrName)
	switch {
	case c == nil:
		return "", notFound("exec in container " + idOrName)
	case !c.Running:
		return "", fmt.Errorf("container %s is not running: %w", idOrName, cerrdefs.ErrConflict)
	}
	e.execs = append(e.execs, x)
	id := fmt.Sprintf("exec-%d", len(e.execs))
	e.execStates[id] = &fakeExec{containerID: c.ID, exec: x}
	return id, nil
}

func (e *fakeEngine) StartExec(ctx context.Context, execID string) (dockerengine.ExecResult, error) {
	if err := ctx.Err(); err != nil {
		return dockerengine.ExecResult{}, err
	}
	e.mu.Lock()
	x := e.execStates[execID]
	if x == nil {
		e.mu.Unlock()
		return dockerengine.ExecResult{}, notFound("exec " + execID)
	}
	x.state.Running = true
	e.mu.Unlock()
	res, err := dockerengine.ExecResult{}, error(nil)
	if e.execFunc != nil {
		res, err = e.execFunc(ctx, x.containerID, x.exec)
	}
	e.mu.Lock()
	x.state = dockerengine.ExecState{ExitCode: res.ExitCode}
	e.mu.Unlock()
	return res, err
}

// StreamExec runs an exec as StartExec does; streamFunc, when set, plays the command with its
// standard streams.
func (e *fakeEngine) StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error) {
	if e.streamFunc == nil {
		return e.StartExec(ctx, execID)
	}
	e.mu.Lock()
	x := e.execStates[execID]
	e.mu.Unlock()
	if x == nil {
		return dockerengine.ExecResult{}, notFound("exec " + execID)
	}
	res, err := e.streamFunc(ctx, x.containerID, x.exec, stdin, stdout)
	e.mu.Lock()
	x.state = dockerengine.ExecState{ExitCode: res.ExitCode}
	e.mu.Unlock()
	return res, err
}

func (e *fakeEngine) InspectExec(ctx context.Context, execID string) (dockerengine.ExecState, error) {
	if err := ctx.Err(); err != nil {
		return dockerengine.ExecState{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.execStates[execID]
	if x == nil {
		return dockerengine.ExecState{}, notFound("exec " + execID)
	}
	return x.state, nil
}

func (e *fakeEngine) ReadFile(ctx context.Context, id, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lookupLocked(id) == nil {
		return nil, notFound("reading from container " + id)
	}
	if path != "/etc/passwd" {
		return nil, notFound("reading " + path + " from container " + id)
	}
	return slices.Clone(e.passwd), nil
}

func (e *fakeEngine) ContainerLogs(ctx context.Context, id string, _ int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lookupLocked(id) == nil {
		return nil, notFound("reading the log of container " + id)
	}
	return slices.Clone(e.logs), nil
}

// ContainerEvents hands on the events of e.events until ctx ends; without e.events it has
// none to give.
func (e *fakeEngine) ContainerEvents(ctx context.Context, _ map[string]string, handle func(dockerengine.ContainerEvent)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-e.events:
			handle(ev)
		}
	}
}

// Helpers for assertions.

// container returns a copy of the container named name, and whether there is one.
func (e *fakeEngine) container(name string) (fakeContainer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupLocked(name)
	if c == nil {
		return fakeContainer{}, false
	}
	return *c, true
}

func (e *fakeEngine) containerCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.containers)
}

// createCount counts CreateContainer calls that got past the hooks, for the container name
// (all when name is empty).
func (e *fakeEngine) createCount(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.creates {
		if name == "" || s.Name == name {
			n++
		}
	}
	return n
}

func (e *fakeEngine) pullCount(ref string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pulls[ref]
}

// putContainer adds a container as if created earlier, e.g. by a previous broker.
func (e *fakeEngine) putContainer(name, image string, labels map[string]string, running bool) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nextID++
	id := "c" + strconv.Itoa(e.nextID) + "-old"
	state := "exited"
	if running {
		state = "running"
	}
	e.containers[id] = &fakeContainer{Container: dockerengine.Container{ID: id, Name: name, Image: image, Labels: labels, State: state, Running: running}}
	return id
}

// envOf is the value of key in the container's environment (the last one, as Docker does),
// and how often key is set.
func envOf(c fakeContainer, key string) (string, int) {
	value, n := "", 0
	for _, kv := range c.Spec.Env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			value, n = v, n+1
		}
	}
	return value, n
}
