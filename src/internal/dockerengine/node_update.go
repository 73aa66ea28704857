package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// DemoteNode makes a manager node a worker (a manager must be demoted before it can be removed).
func (c *Client) DemoteNode(ctx context.Context, id string) error {
	res, err := c.api.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspecting swarm node %s: %w", id, err)
	}
	spec := res.Node.Spec
	spec.Role = swarm.NodeRoleWorker
	if _, err := c.api.NodeUpdate(ctx, id, client.NodeUpdateOptions{Version: res.Node.Version, Spec: spec}); err != nil {
		return fmt.Errorf("demoting swarm node %s to worker: %w", id, err)
	}
	return nil
}
