package dockerengine

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// StopContainer sends the container its stop signal and kills it after grace.
func (c *Client) StopContainer(ctx context.Context, id string, grace time.Duration) error {
	seconds := int(grace.Seconds())
	if _, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &seconds}); err != nil {
		return fmt.Errorf("stopping container %s: %w", id, err)
	}
	return nil
}
