package broker

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// runInContainer runs a command inside a container (by id or name) and returns how it ended.
// created, when set, learns the exec's id before the command starts, so that it can be
// recorded: a command outlives a broker killed while it runs.
func (b *Broker) runInContainer(ctx context.Context, container string, e dockerengine.Exec, created func(execID string) error) (dockerengine.ExecResult, error) {
	execID, err := b.engine.CreateExec(ctx, container, e)
	if err != nil {
		return dockerengine.ExecResult{}, err
	}
	if created != nil {
		if err := created(execID); err != nil {
			return dockerengine.ExecResult{}, err
		}
	}
	return b.engine.StartExec(ctx, execID)
}
