package dockerengine

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/moby/client"
)

// InitSwarm makes the engine the first manager of a new swarm, advertising advertiseAddr (an IP
// of this host) to the nodes that join, and returns its node id.
func (c *Client) InitSwarm(ctx context.Context, advertiseAddr string) (string, error) {
	res, err := c.api.SwarmInit(ctx, client.SwarmInitOptions{
		ListenAddr:    net.JoinHostPort(advertiseAddr, SwarmPort),
		AdvertiseAddr: advertiseAddr,
	})
	if err != nil {
		return "", fmt.Errorf("creating a swarm advertised at %s: %w", advertiseAddr, err)
	}
	return res.NodeID, nil
}
