package dockerengine

import (
	"context"
	"fmt"
	"sort"
)

// Image is what the broker needs to know of an image.
type Image struct {
	ID           string
	ExposedPorts []string // "6379/tcp", sorted
	User         string
}

// InspectImage reports the image ref ("redis:7"). A missing image gives an error for which
// IsNotFound is true.
func (c *Client) InspectImage(ctx context.Context, ref string) (Image, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return Image{}, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	img := Image{ID: res.ID}
	if res.Config != nil {
		img.User = res.Config.User
		for port := range res.Config.ExposedPorts {
			img.ExposedPorts = append(img.ExposedPorts, port)
		}
		sort.Strings(img.ExposedPorts)
	}
	return img, nil
}

// ImageExists reports whether the engine has the image ref locally.
func (c *Client) ImageExists(ctx context.Context, ref string) (bool, error) {
	if _, err := c.InspectImage(ctx, ref); err != nil {
		if IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
