package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// LocalSwarm reports the engine's own swarm membership (GET /info, its Swarm part).
func (c *Client) LocalSwarm(ctx context.Context) (LocalSwarm, error) {
	res, err := c.api.Info(ctx, client.InfoOptions{})
	if err != nil {
		return LocalSwarm{}, fmt.Errorf("asking the engine for its swarm state: %w", err)
	}
	s := res.Info.Swarm
	return LocalSwarm{
		NodeID:   s.NodeID,
		NodeAddr: s.NodeAddr,
		State:    string(s.LocalNodeState),
		Manager:  s.ControlAvailable,
		Error:    s.Error,
	}, nil
}
