package dockerengine

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// scaleAttempts bounds how often ScaleService tries again when the service changed between
// its read and its update.
const scaleAttempts = 5

// ScaleService sets the replicas of the service idOrName: 0 stops its task (which gets the stop
// grace period of the service to stop before it is killed), 1 starts one. Nothing else about
// the service changes: a change of its task template would replace its task.
func (c *Client) ScaleService(ctx context.Context, idOrName string, replicas uint64) error {
	var err error
	for range scaleAttempts {
		if err = c.scaleService(ctx, idOrName, replicas); err == nil || !outOfSequence(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("scaling service %s to %d: %w", idOrName, replicas, err)
	}
	return nil
}

func (c *Client) scaleService(ctx context.Context, idOrName string, replicas uint64) error {
	res, err := c.api.ServiceInspect(ctx, idOrName, client.ServiceInspectOptions{})
	if err != nil {
		return err
	}
	spec := res.Service.Spec
	if spec.Mode.Replicated == nil {
		return fmt.Errorf("it is not a replicated service")
	}
	spec.Mode.Replicated.Replicas = &replicas
	// The version makes the update conditional: a change since the read above (the manager's
	// own, such as allocating a new service's endpoint) fails it instead of being overwritten.
	_, err = c.api.ServiceUpdate(ctx, res.Service.ID, client.ServiceUpdateOptions{
		Version:       res.Service.Version,
		Spec:          spec,
		QueryRegistry: false,
	})
	return err
}

// outOfSequence reports whether err is a swarm manager's refusal of an update made from a
// version of the object that is no longer current.
func outOfSequence(err error) bool {
	return strings.Contains(err.Error(), "update out of sequence")
}
