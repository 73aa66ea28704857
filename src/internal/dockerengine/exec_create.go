package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Exec is a command to run inside a running container.
type Exec struct {
	Cmd []string
	// Env is added to the container's environment for this command. It is how secrets reach
	// a command: the engine shows an exec's argv (exec inspect, the host's ps), not its env.
	Env []string
	// Stdin attaches the command's standard input, which StreamExec feeds.
	Stdin bool
}

// CreateExec prepares cmd to run in the container idOrName and returns the exec's id; StartExec
// runs it. The two steps let a caller record the id first, so that it can find a command it
// started again after a crash (InspectExec).
func (c *Client) CreateExec(ctx context.Context, idOrName string, e Exec) (string, error) {
	created, err := c.api.ExecCreate(ctx, idOrName, client.ExecCreateOptions{Cmd: e.Cmd, Env: e.Env, AttachStdin: e.Stdin, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", fmt.Errorf("exec in container %s: %w", idOrName, err)
	}
	return created.ID, nil
}
