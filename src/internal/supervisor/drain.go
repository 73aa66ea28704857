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

// Drain stops every running container of the engine, all at once, each given grace to exit
// after its stop signal before the engine kills it, and returns how many it stopped. It is the
// BOSH `docker` job's drain: under bpm, stopping the job ends every process of the job's
// container, service containers included, so they must be stopped cleanly first -- one after
// the other, as the predecessor did, would make a VM with many instances outlast any timeout.
// Every container is tried; the error names each one that did not stop.
func Drain(ctx context.Context, engine DrainEngine, grace time.Duration, log *slog.Logger) (int, error) {
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
