package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// RemoveContainer removes a container, killing it if it still runs, together with its
// anonymous volumes. Host directories bound into it are left alone.
func (c *Client) RemoveContainer(ctx context.Context, id string) error {
	if _, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		return fmt.Errorf("removing container %s: %w", id, err)
	}
	return nil
}
