package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// RemoveService removes the service idOrName; the swarm then stops and removes its task's
// container on its node. Host directories bound into it are left alone.
func (c *Client) RemoveService(ctx context.Context, idOrName string) error {
	if _, err := c.api.ServiceRemove(ctx, idOrName, client.ServiceRemoveOptions{}); err != nil {
		return fmt.Errorf("removing service %s: %w", idOrName, err)
	}
	return nil
}
