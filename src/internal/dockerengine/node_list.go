package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ListNodes lists the swarm's nodes (GET /nodes). Only managers answer.
func (c *Client) ListNodes(ctx context.Context) ([]SwarmNode, error) {
	res, err := c.api.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the swarm's nodes: %w", err)
	}
	nodes := make([]SwarmNode, 0, len(res.Items))
	for _, n := range res.Items {
		nodes = append(nodes, SwarmNode{
			ID:       n.ID,
			Hostname: n.Description.Hostname,
			Addr:     n.Status.Addr,
			State:    string(n.Status.State),
			Manager:  n.Spec.Role == swarm.NodeRoleManager,
			Labels:   n.Spec.Labels,
		})
	}
	return nodes, nil
}
