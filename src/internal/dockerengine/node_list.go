package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Node is a member of the swarm as its managers see it.
type Node struct {
	ID       string
	Hostname string
	Labels   map[string]string // the node's labels (set by the operator), not its engine's
	Manager  bool              // a manager (raft member), else a worker
	// State is "ready" when the managers hear from the node, "down" or "disconnected" when
	// they do not, "unknown" while they cannot tell.
	State string
	// Availability is "active", "pause" (keeps its tasks, takes no new ones) or "drain".
	Availability string
	// Addr is the address the node reaches the managers from.
	Addr string
	// NanoCPUs and MemoryBytes are the node's resources, which reservations are made against.
	NanoCPUs    int64
	MemoryBytes int64
}

// Down tells whether the managers have lost the node.
func (n Node) Down() bool { return n.State == "down" || n.State == "disconnected" }

// ListNodes lists the members of the swarm. Only a manager answers.
func (c *Client) ListNodes(ctx context.Context) ([]Node, error) {
	res, err := c.api.NodeList(ctx, client.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing swarm nodes: %w", err)
	}
	out := make([]Node, 0, len(res.Items))
	for _, n := range res.Items {
		out = append(out, node(n))
	}
	return out, nil
}

func node(in swarm.Node) Node {
	return Node{
		ID:           in.ID,
		Hostname:     in.Description.Hostname,
		Labels:       in.Spec.Labels,
		Manager:      in.Spec.Role == swarm.NodeRoleManager,
		State:        string(in.Status.State),
		Availability: string(in.Spec.Availability),
		Addr:         in.Status.Addr,
		NanoCPUs:     in.Description.Resources.NanoCPUs,
		MemoryBytes:  in.Description.Resources.MemoryBytes,
	}
}
