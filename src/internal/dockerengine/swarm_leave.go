package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// LeaveSwarm makes the engine leave its swarm, even if it is a manager or the swarm is gone;
// its swarm tasks stop.
func (c *Client) LeaveSwarm(ctx context.Context) error {
	if _, err := c.api.SwarmLeave(ctx, client.SwarmLeaveOptions{Force: true}); err != nil {
		return fmt.Errorf("leaving the swarm: %w", err)
	}
	return nil
}
