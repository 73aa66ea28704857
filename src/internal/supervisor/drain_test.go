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
}

func (e *drainEngine) ListContainers(context.Context, map[string]string) ([]dockerengine.Container, error) {
	return e.containers, nil
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

	n, err := Drain(ctx, e, 7*time.Second, slog.New(slog.DiscardHandler))
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

	n, err := Drain(ctx, e, time.Second, slog.New(slog.DiscardHandler))
	if n != 1 || !slices.Equal(e.stopped, []string{"b"}) {
		t.Errorf("stopped %d: %v; want b stopped despite a failing", n, e.stopped)
	}
	if err == nil || !strings.Contains(err.Error(), "cf-a") || !strings.Contains(err.Error(), "engine says no") {
		t.Errorf("error %v; want it to name cf-a and the engine's reason", err)
	}
}
