package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// APIVersion is the Engine API version the engine speaks ("1.41" for dockerd 20.10), which
// tells what it can do.
func (c *Client) APIVersion(ctx context.Context) (string, error) {
	res, err := c.api.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the engine its version: %w", err)
	}
	return res.APIVersion, nil
}
