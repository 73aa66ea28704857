package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// drainEngine is a fake engine whose StopContainer blocks until every running container's stop
// has begun, so a drain that stops containers one after the other never finishes.
type drainEngine struct {
	containers []dockerengine.Container
	failing    map[string]bool

	mu      sync.Mutex
	stopped []string
	graces  []time.Duration
	begun   sync.WaitGroup
	// tasksStopIn > 0 counts down the listings until the swarm has stopped the tasks'
	// containers, as it does some time after the node is drained.
	tasksStopIn int
}

func (e *drainEngine) ListContainers(context.Context, map[string]string) ([]dockerengine.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tasksStopIn > 0 {
		e.tasksStopIn--
		if e.tasksStopIn == 0 {
			for i, c := range e.containers {
				if c.Labels[swarmTaskLabel] != "" {
					e.containers[i].Running = false
				}
			}
		}
	}
	return slices.Clone(e.containers), nil
}

func (e *drainEngine) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	e.begun.Done()
	waited := make(chan struct{})
	go func() { e.begun.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.graces = append(e.graces, grace)
	if e.failing[id] {
		return errors.New("engine says no")
	}
	e.stopped = append(e.stopped, id)
	return nil
}

func TestDrainStopsEveryRunningContainerAtOnce(t *testing.T) {
	e := &drainEngine{containers: []dockerengine.Container{
		{ID: "a", Name: "cf-a", Running: true},
		{ID: "b", Name: "cf-b", Running: false},
		{ID: "c", Name: "cf-c", Running: true},
		{ID: "d", Name: "cf-d", Running: true},
	}}
	e.begun.Add(3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	n, err := Drain(ctx, e, nil, 7*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Drain: %v (a drain that stops one container at a time blocks here)", err)
	}
	slices.Sort(e.stopped)
	if n != 3 || !slices.Equal(e.stopped, []string{"a", "c", "d"}) {
		t.Errorf("stopped %d: %v; want the 3 running containers a, c, d", n, e.stopped)
	}
	for _, g := range e.graces {
		if g != 7*time.Second {
			t.Errorf("grace %s passed to the engine, want 7s", g)
		}
	}
}

func TestDrainTriesEveryContainerAndNamesTheFailures(t *testing.T) {
	e := &drainEngine{
		containers: []dockerengine.Container{{ID: "a", Name: "cf-a", Running: true}, {ID: "b", Name: "cf-b", Running: true}},
		failing:    map[string]bool{"a": true},
	}
	e.begun.Add(2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	n, err := Drain(ctx, e, nil, time.Second, slog.New(slog.DiscardHandler))
	if n != 1 || !slices.Equal(e.stopped, []string{"b"}) {
		t.Errorf("stopped %d: %v; want b stopped despite a failing", n, e.stopped)
	}
	if err == nil || !strings.Contains(err.Error(), "cf-a") || !strings.Contains(err.Error(), "engine says no") {
		t.Errorf("error %v; want it to name cf-a and the engine's reason", err)
	}
}

// swarmNode is a fake of the node's swarm managers: a drain they take stops the node's tasks
// a few listings later; unreachable managers take none.
type swarmNode struct {
	engine      *drainEngine
	unreachable bool
	drains      int
}

func (n *swarmNode) DrainNode(context.Context) error {
	n.drains++
	if n.unreachable {
		return errors.New("no manager answers: 10.0.0.10:4243: connection refused")
	}
	n.engine.mu.Lock()
	defer n.engine.mu.Unlock()
	n.engine.tasksStopIn = 3
	return nil
}

// swarmVM is a swarm node's containers: a task of a pinned service and a plain container.
func swarmVM() *drainEngine {
	return &drainEngine{containers: []dockerengine.Container{
		{ID: "t", Name: "cf-a.1.x2kq", Running: true, Labels: map[string]string{swarmTaskLabel: "x2kq"}},
		{ID: "p", Name: "plain", Running: true},
	}}
}

func TestDrainOnASwarmNodeLetsTheSwarmStopItsTasks(t *testing.T) {
	e := swarmVM()
	node := &swarmNode{engine: e}
	e.begun.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	n, err := Drain(ctx, e, node, time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if node.drains != 1 {
		t.Errorf("the managers were asked %d times to drain the node, want once", node.drains)
	}
	// Stopping the task's container itself would make the swarm start a new task on the node.
	if n != 1 || !slices.Equal(e.stopped, []string{"p"}) {
		t.Errorf("stopped %d: %v; want only the plain container, the task left to the swarm", n, e.stopped)
	}
}

func TestDrainWhereNoManagerAnswersStopsEveryContainerAndSaysSo(t *testing.T) {
	e := swarmVM()
	e.begun.Add(2)
	var logged strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	n, err := Drain(ctx, e, &swarmNode{engine: e, unreachable: true}, time.Second, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(e.stopped)
	if n != 2 || !slices.Equal(e.stopped, []string{"p", "t"}) {
		t.Errorf("stopped %d: %v; want both containers, as on a single VM", n, e.stopped)
	}
	if !strings.Contains(logged.String(), "could not drain this node") || !strings.Contains(logged.String(), "connection refused") {
		t.Errorf("the fallback is not logged with its reason:\n%s", logged.String())
	}
}
