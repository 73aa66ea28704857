package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// InspectNode reports the swarm node id. Only a manager answers.
func (c *Client) InspectNode(ctx context.Context, id string) (Node, error) {
	res, err := c.api.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return Node{}, fmt.Errorf("inspecting swarm node %s: %w", id, err)
	}
	return node(res.Node), nil
}
