package swarm

import (
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Nodes lists the members of the swarm as the managers see them now (ready or down, active or
// drained), each with the address where clients reach the ports it publishes in Addr: what
// the broker's dashboard and metrics show per node.
func (e *Engine) Nodes(ctx context.Context) ([]dockerengine.Node, error) {
	nodes, err := e.cfg.Manager.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	for i := range nodes {
		nodes[i].Addr = e.address(nodes[i])
	}
	return nodes, nil
}

// MaxContainersPerNode is how many instances one node takes at most; 0 is unlimited.
func (e *Engine) MaxContainersPerNode() int { return e.cfg.MaxContainersPerNode }
