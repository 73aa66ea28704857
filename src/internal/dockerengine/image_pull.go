package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// PullImage pulls ref ("redis:7", "registry.example.com/team/pg:15") from its registry,
// reporting layer progress through report. It returns only when the pull has finished.
func (c *Client) PullImage(ctx context.Context, ref string, report func(Progress)) error {
	resp, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	defer resp.Close()
	if err := readProgress(resp, report); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	return nil
}
