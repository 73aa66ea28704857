package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// RemoveNode removes a node from the swarm even if it is still up (a manager must be demoted
// first).
func (c *Client) RemoveNode(ctx context.Context, id string) error {
	if _, err := c.api.NodeRemove(ctx, id, client.NodeRemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("removing swarm node %s: %w", id, err)
	}
	return nil
}
