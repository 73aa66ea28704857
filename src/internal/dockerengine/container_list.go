package dockerengine

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ListContainers lists the containers, running or not, that carry every label of labels
// (all containers when labels is empty). The result has ID, Name, Image, Labels, State, Running
// and Health set; InspectContainer tells the rest.
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
			Health:  listedHealth(s),
		})
	}
	return out, nil
}

// listedHealth is a listed container's health. Engines before API 1.52 (dockerd 20.10 among
// them) send no Health field and tell it only in the status text, "Up 2 minutes (healthy)".
func listedHealth(s container.Summary) string {
	if s.Health != nil && s.Health.Status != "" {
		return string(s.Health.Status)
	}
	switch {
	case strings.HasSuffix(s.Status, "(healthy)"):
		return string(container.Healthy)
	case strings.HasSuffix(s.Status, "(unhealthy)"):
		return string(container.Unhealthy)
	case strings.HasSuffix(s.Status, "(health: starting)"):
		return string(container.Starting)
	}
	return string(container.NoHealthcheck)
}
