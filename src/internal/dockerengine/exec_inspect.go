package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// ExecState is whether an exec still runs, and how it ended.
type ExecState struct {
	Running  bool
	ExitCode int
}

// InspectExec reports on an exec. The engine forgets an exec when its container stops or is
// removed: then the error satisfies IsNotFound.
func (c *Client) InspectExec(ctx context.Context, execID string) (ExecState, error) {
	res, err := c.api.ExecInspect(ctx, execID, client.ExecInspectOptions{})
	if err != nil {
		return ExecState{}, fmt.Errorf("inspecting exec %s: %w", execID, err)
	}
	return ExecState{Running: res.Running, ExitCode: res.ExitCode}, nil
}
