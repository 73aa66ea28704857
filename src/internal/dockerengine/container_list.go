package dockerengine

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ListContainers lists the containers, running or not, that carry every label of labels
// (all containers when labels is empty). The result has ID, Name, Image, Labels, State and
// Running set; InspectContainer tells the rest.
func (c *Client) ListContainers(ctx context.Context, labels map[string]string) ([]Container, error) {
	filters := client.Filters{}
	for k, v := range labels {
		filters.Add("label", k+"="+v)
	}
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]Container, 0, len(res.Items))
	for _, s := range res.Items {
		name := ""
		if len(s.Names) > 0 {
			name = strings.TrimPrefix(s.Names[0], "/")
		}
		out = append(out, Container{
			ID:      s.ID,
			Name:    name,
			Image:   s.Image,
			Labels:  s.Labels,
			State:   string(s.State),
			Running: s.State == container.StateRunning,
		})
	}
	return out, nil
}
