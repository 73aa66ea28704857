package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// ScaleService sets the replicas of the service idOrName: 0 stops its task (which gets the stop
// grace period of the service to stop before it is killed), 1 starts one. Nothing else about
// the service changes: a change of its task template would replace its task.
func (c *Client) ScaleService(ctx context.Context, idOrName string, replicas uint64) error {
	res, err := c.api.ServiceInspect(ctx, idOrName, client.ServiceInspectOptions{})
	if err != nil {
		return fmt.Errorf("scaling service %s: %w", idOrName, err)
	}
	spec := res.Service.Spec
	if spec.Mode.Replicated == nil {
		return fmt.Errorf("scaling service %s: it is not a replicated service", idOrName)
	}
	spec.Mode.Replicated.Replicas = &replicas
	// The version makes the update conditional: a concurrent change fails it instead of being
	// overwritten with the spec read above.
	_, err = c.api.ServiceUpdate(ctx, res.Service.ID, client.ServiceUpdateOptions{
		Version:       res.Service.Version,
		Spec:          spec,
		QueryRegistry: false,
	})
	if err != nil {
		return fmt.Errorf("scaling service %s to %d: %w", idOrName, replicas, err)
	}
	return nil
}
