package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// ListServices lists the swarm services that carry every label of labels (all services when
// labels is empty).
func (c *Client) ListServices(ctx context.Context, labels map[string]string) ([]Service, error) {
	filters := client.Filters{}
	for k, v := range labels {
		filters.Add("label", k+"="+v)
	}
	res, err := c.api.ServiceList(ctx, client.ServiceListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	out := make([]Service, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, service(s))
	}
	return out, nil
}
