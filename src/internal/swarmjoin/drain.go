package swarmjoin

import (
	"cmp"
	"context"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// DrainLabel marks a node that a VM's BOSH drain set to availability "drain", with the value
// DrainedByBOSH: converging sets such a node back to "active" when the VM starts again, while a
// node an operator drained (`docker node update --availability drain`, no label) stays drained.
const (
	DrainLabel    = "docker-broker.drained-by"
	DrainedByBOSH = "bosh-drain"
	// AvailabilityBeforeDrain is on a node the BOSH drain found paused, which it then drained:
	// converging sets it back to that availability, not "active".
	AvailabilityBeforeDrain = "docker-broker.availability-before-drain"
)

// DrainNode asks a manager (this engine if it is one) to set this engine's node to availability
// "drain", marked with DrainLabel: the swarm stops the node's tasks, each with its service's
// stop grace, and starts none there meanwhile -- a task pinned to the node stays pending until
// the node is active again. It returns once the managers took the change; the tasks stop
// after. An error (no manager answers, the managers have no quorum) leaves the node as it was.
// A node an operator drained is left as it is, and an engine in no swarm has nothing to drain.
func (j *Joiner) DrainNode(ctx context.Context) error {
	self, err := j.local.LocalSwarm(ctx)
	if err != nil {
		return err
	}
	if !self.Member() {
		j.log.Info("this engine is in no swarm: no node to drain", "swarm_state", self.State)
		return nil
	}
	manager, release, err := j.manager(ctx, self)
	if err != nil {
		return err
	}
	defer release()
	node, err := manager.InspectNode(ctx, self.NodeID)
	if err != nil {
		return err
	}
	switch {
	case node.Availability == "drain" && node.Labels[DrainLabel] == DrainedByBOSH:
		j.log.Info("the node is drained already, by an earlier drain of this VM", "node_id", self.NodeID)
		return nil
	case node.Availability == "drain":
		j.log.Info("the node is drained already, by an operator: it stays drained when the VM starts again", "node_id", self.NodeID)
		return nil
	}
	change := dockerengine.NodeChange{Availability: "drain", SetLabels: map[string]string{DrainLabel: DrainedByBOSH}}
	if node.Availability != "active" {
		change.SetLabels[AvailabilityBeforeDrain] = node.Availability
	}
	if err := manager.UpdateNode(ctx, self.NodeID, change); err != nil {
		return err
	}
	j.log.Info("drained the node: the swarm stops its tasks and starts none here until the VM starts again", "node_id", self.NodeID, "availability_was", node.Availability)
	return nil
}

// undrain sets the node selfID, drained by its VM's BOSH drain, back to the availability it had
// ("active", or "pause" as AvailabilityBeforeDrain says) and removes the marks: the swarm starts
// its pinned tasks again. A node without the mark is left as it is; the marks left on a node an
// operator has since set to another availability are only removed.
func (j *Joiner) undrain(ctx context.Context, manager Engine, selfID string) error {
	node, err := manager.InspectNode(ctx, selfID)
	if err != nil {
		return err
	}
	if node.Labels[DrainLabel] != DrainedByBOSH {
		return nil
	}
	change := dockerengine.NodeChange{RemoveLabels: []string{DrainLabel}}
	before, paused := node.Labels[AvailabilityBeforeDrain]
	if paused {
		change.RemoveLabels = append(change.RemoveLabels, AvailabilityBeforeDrain)
	}
	if node.Availability == "drain" {
		change.Availability = cmp.Or(before, "active")
	}
	if err := manager.UpdateNode(ctx, selfID, change); err != nil {
		return err
	}
	if change.Availability == "" {
		j.log.Info("removed the mark of this VM's drain from the node, whose availability an operator has set since", "node_id", selfID, "availability", node.Availability)
		return nil
	}
	j.log.Info("the node drained when this VM stopped is back to its availability: the swarm starts its tasks", "node_id", selfID, "availability", change.Availability)
	return nil
}

// manager returns an engine that manages the swarm self is a member of: this one if it is a
// manager, else the first of cfg.Managers that answers. release lets it go.
func (j *Joiner) manager(ctx context.Context, self dockerengine.LocalSwarm) (manager Engine, release func(), err error) {
	if self.Manager {
		return j.local, func() {}, nil
	}
	remote, _, err := j.findManager(ctx)
	if err != nil {
		return nil, nil, err
	}
	return remote, func() { remote.Close() }, nil
}
