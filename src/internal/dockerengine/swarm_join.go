package dockerengine

import (
	"context"
	"fmt"
	"net"

	"github.com/moby/moby/client"
)

// JoinSwarm makes the engine a node of the swarm that the manager at managerAddr (its swarm
// address, "ip:2377") belongs to. The token decides the role: JoinTokens.Worker or .Manager.
func (c *Client) JoinSwarm(ctx context.Context, advertiseAddr, managerAddr, token string) error {
	_, err := c.api.SwarmJoin(ctx, client.SwarmJoinOptions{
		ListenAddr:    net.JoinHostPort(advertiseAddr, SwarmPort),
		AdvertiseAddr: advertiseAddr,
		RemoteAddrs:   []string{managerAddr},
		JoinToken:     token,
	})
	if err != nil {
		return fmt.Errorf("joining the swarm of %s as %s: %w", managerAddr, advertiseAddr, err)
	}
	return nil
}
