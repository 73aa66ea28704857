package dockerengine

import (
	"context"
	"fmt"
	"maps"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// NodeChange is a change of a swarm node's settings; what it leaves empty stays as it is.
type NodeChange struct {
	// Availability is "active", "pause" or "drain".
	Availability string
	// SetLabels are added to the node's labels (the node's, not its engine's) or replace those
	// of the same key; RemoveLabels are removed.
	SetLabels    map[string]string
	RemoveLabels []string
}

// UpdateNode applies change to the swarm node id. Only a manager answers.
func (c *Client) UpdateNode(ctx context.Context, id string, change NodeChange) error {
	return c.updateNodeSpec(ctx, id, "updating swarm node "+id, func(spec *swarm.NodeSpec) {
		if change.Availability != "" {
			spec.Availability = swarm.NodeAvailability(change.Availability)
		}
		labels := maps.Clone(spec.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, change.SetLabels)
		for _, key := range change.RemoveLabels {
			delete(labels, key)
		}
		spec.Labels = labels
	})
}

// DemoteNode makes a manager node a worker (a manager must be demoted before it can be removed).
func (c *Client) DemoteNode(ctx context.Context, id string) error {
	return c.updateNodeSpec(ctx, id, "demoting swarm node "+id+" to worker", func(spec *swarm.NodeSpec) {
		spec.Role = swarm.NodeRoleWorker
	})
}

// updateNodeSpec reads the node's spec, changes it and writes it back at the version it read:
// a change made by someone else in between fails the update instead of being overwritten.
func (c *Client) updateNodeSpec(ctx context.Context, id, doing string, change func(*swarm.NodeSpec)) error {
	res, err := c.api.NodeInspect(ctx, id, client.NodeInspectOptions{})
	if err != nil {
		return fmt.Errorf("inspecting swarm node %s: %w", id, err)
	}
	spec := res.Node.Spec
	change(&spec)
	if _, err := c.api.NodeUpdate(ctx, id, client.NodeUpdateOptions{Version: res.Node.Version, Spec: spec}); err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return nil
}
