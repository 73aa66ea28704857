package dockerengine

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// LoadImage loads a `docker save` archive into the engine (POST /images/load) and
// reports each loaded image through report.
func (c *Client) LoadImage(ctx context.Context, archive io.Reader, report func(Progress)) error {
	resp, err := c.api.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("loading image archive: %w", err)
	}
	defer resp.Close()
	if err := readProgress(resp, report); err != nil {
		return fmt.Errorf("loading image archive: %w", err)
	}
	return nil
}
