package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// JoinTokens asks a manager for the swarm's join tokens (GET /swarm). Only managers answer.
func (c *Client) JoinTokens(ctx context.Context) (JoinTokens, error) {
	res, err := c.api.SwarmInspect(ctx, client.SwarmInspectOptions{})
	if err != nil {
		return JoinTokens{}, fmt.Errorf("asking a manager for the swarm's join tokens: %w", err)
	}
	return JoinTokens{Worker: res.Swarm.JoinTokens.Worker, Manager: res.Swarm.JoinTokens.Manager}, nil
}
