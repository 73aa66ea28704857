package dockerengine

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// Exec runs cmd inside the running container id, waits for it to finish and returns its exit
// code. Its output is discarded: health checks only need the verdict.
func (c *Client) Exec(ctx context.Context, id string, cmd []string) (int, error) {
	created, err := c.api.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	attached, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	// The stream ends when the command exits.
	_, err = io.Copy(io.Discard, attached.Reader)
	attached.Close()
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	res, err := c.api.ExecInspect(ctx, created.ID, client.ExecInspectOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec in container %s: %w", id, err)
	}
	return res.ExitCode, nil
}
