package dockerengine

import (
	"context"
	"fmt"
)

// ImageExists reports whether the engine has the image ref ("redis:7") locally.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	if _, err := c.api.ImageInspect(ctx, ref); err != nil {
		if IsNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return true, nil
}
