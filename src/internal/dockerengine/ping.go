package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// Ping reports whether the engine answers its API. It also settles the API version
// that every later call uses.
func (c *Client) Ping(ctx context.Context) error {
	if _, err := c.api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("docker engine does not answer: %w", err)
	}
	return nil
}
