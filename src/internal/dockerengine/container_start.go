package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// StartContainer starts a created or stopped container. Starting a running one is not an error.
func (c *Client) StartContainer(ctx context.Context, id string) error {
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("starting container %s: %w", id, err)
	}
	return nil
}
