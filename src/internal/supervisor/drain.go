package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// DrainEngine is what Drain asks of the Docker Engine API.
type DrainEngine interface {
	ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error)
	StopContainer(ctx context.Context, id string, grace time.Duration) error
}

// NodeDrainer takes this VM's node out of its swarm's scheduling (swarmjoin.Joiner): the swarm
// then stops the node's tasks itself and starts none there.
type NodeDrainer interface {
	DrainNode(ctx context.Context) error
}

const (
	// askManagersTimeout bounds the asking of the managers: one that is gone may leave a
	// connection hanging, and the drain must then go on without the swarm.
	askManagersTimeout = 30 * time.Second
	// swarmStopMargin is what the swarm may take beyond the grace period to stop the node's
	// tasks: the managers' word reaching the node, the tasks' state reaching them.
	swarmStopMargin = 30 * time.Second
	// stopMargin is what the engine may take beyond the grace period to stop a container.
	stopMargin = time.Minute
	// swarmTaskPoll is how often the node's tasks are looked at while the swarm stops them.
	swarmTaskPoll = 250 * time.Millisecond
)

// swarmTaskLabel is the label the swarm gives a task's container.
const swarmTaskLabel = "com.docker.swarm.task.id"

// Drain stops every running container of the engine, each given grace to exit after its stop
// signal before the engine kills it, and returns how many it stopped. It is the BOSH `docker`
// job's drain: under bpm, stopping the job ends every process of the job's container, service
// containers included, so they must be stopped cleanly first.
//
// On a swarm node (node not nil), stopping a task's container is not enough: the swarm would
// start a new task there a few seconds later, which bpm would then kill. So the node is first
// drained through the swarm's managers, which stop its tasks and start none there, and Drain
// waits up to grace plus a margin for them to stop. Where the managers cannot be reached, that
// is logged and the containers are stopped as on a single VM.
//
// Then whatever still runs is stopped all at once -- one after the other, as the predecessor
// did, would make a VM with many instances outlast any timeout. Every container is tried; the
// error names each one that did not stop.
func Drain(ctx context.Context, engine DrainEngine, node NodeDrainer, grace time.Duration, log *slog.Logger) (int, error) {
	if node != nil {
		drainSwarmNode(ctx, engine, node, grace, log)
	}
	ctx, cancel := context.WithTimeout(ctx, grace+stopMargin)
	defer cancel()
	return stopAll(ctx, engine, grace, log)
}

// drainSwarmNode drains the node through its managers and waits for its swarm tasks to stop;
// what goes wrong is logged and left to stopAll.
func drainSwarmNode(ctx context.Context, engine DrainEngine, node NodeDrainer, grace time.Duration, log *slog.Logger) {
	askCtx, cancel := context.WithTimeout(ctx, askManagersTimeout)
	err := node.DrainNode(askCtx)
	cancel()
	if err != nil {
		log.Error("the swarm's managers could not drain this node: stopping its containers directly, and the swarm may start its tasks again before the job stops", "error", err.Error())
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, grace+swarmStopMargin)
	defer cancel()
	start := time.Now()
	for {
		running, err := runningSwarmTasks(waitCtx, engine)
		switch {
		case err != nil:
			log.Error("cannot tell whether the swarm stopped this node's tasks: stopping what runs", "error", err.Error())
			return
		case len(running) == 0:
			log.Info("the swarm stopped this node's tasks", "duration", time.Since(start).Round(time.Millisecond).String())
			return
		}
		select {
		case <-waitCtx.Done():
			log.Error("the swarm did not stop every task of this node in time: stopping them", "waited", time.Since(start).Round(time.Millisecond).String(), "containers", running)
			return
		case <-time.After(swarmTaskPoll):
		}
	}
}

// runningSwarmTasks names the running containers of swarm tasks.
func runningSwarmTasks(ctx context.Context, engine DrainEngine) ([]string, error) {
	containers, err := engine.ListContainers(ctx, nil)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, c := range containers {
		if c.Running && c.Labels[swarmTaskLabel] != "" {
			names = append(names, c.Name)
		}
	}
	return names, nil
}

// stopAll stops every running container at once, each given grace.
func stopAll(ctx context.Context, engine DrainEngine, grace time.Duration, log *slog.Logger) (int, error) {
	containers, err := engine.ListContainers(ctx, nil)
	if err != nil {
		return 0, err
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		stopped int
	)
	for _, c := range containers {
		if !c.Running {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			err := engine.StopContainer(ctx, c.ID, grace)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("container %s: %w", c.Name, err))
				log.Error("container not stopped", "container", c.Name, "error", err.Error())
				return
			}
			stopped++
			log.Info("container stopped", "container", c.Name, "duration", time.Since(start).Round(time.Millisecond).String())
		}()
	}
	wg.Wait()
	return stopped, errors.Join(errs...)
}
