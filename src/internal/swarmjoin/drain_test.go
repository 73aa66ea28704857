package swarmjoin

import (
	"context"
	"slices"
	"strings"
	"testing"
)

const drainedMark = "+docker-broker.drained-by=bosh-drain"

func TestDrainNodeDrainsThisVMsNodeThroughAManagerAndMarksIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		vm      int // the drained VM
		manager int // the engine that takes the change
	}{
		{"a worker, through the manager", 2, 0},
		{"the manager, through its own engine", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(ips...)
			w.deploy(t, 1)
			w.engine(ips[tc.manager]).calls = nil
			if err := w.joiner(tc.vm, 1).DrainNode(context.Background()); err != nil {
				t.Fatal(err)
			}
			id := w.engine(ips[tc.vm]).nodeID
			if got, want := w.engine(ips[tc.manager]).calls, []string{"update " + id + " drain " + drainedMark}; !slices.Equal(got, want) {
				t.Errorf("calls of the manager: %v, want %v", got, want)
			}
			if n := w.engine(ips[tc.vm]).entry(); n.Availability != "drain" || n.Labels[DrainLabel] != DrainedByBOSH {
				t.Errorf("node %s is %s with labels %v, want drained and marked", id, n.Availability, n.Labels)
			}
		})
	}
}

func TestConvergingReactivatesANodeOnlyIfThisVMsDrainDrainedIt(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	manager := w.engine(ips[0])
	// VM 1 was stopped by BOSH; an operator drained VM 2 by hand (no mark).
	if err := w.joiner(1, 1).DrainNode(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.engine(ips[2]).entry().Availability = "drain"
	manager.calls = nil
	// A later drain of the operator's node must not mark it: it would be reactivated.
	if err := w.joiner(2, 1).DrainNode(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(manager.calls) > 0 {
		t.Errorf("draining the node the operator drained: calls %v, want none", manager.calls)
	}

	w.deploy(t, 1) // the VMs start again

	bosh, operator := w.engine(ips[1]).entry(), w.engine(ips[2]).entry()
	if bosh.Availability != "active" || bosh.Labels[DrainLabel] != "" {
		t.Errorf("the node BOSH drained is %s with labels %v, want active without the mark", bosh.Availability, bosh.Labels)
	}
	if operator.Availability != "drain" {
		t.Errorf("the node the operator drained is %s, want it left drained", operator.Availability)
	}
	if got, want := manager.calls, []string{"update " + bosh.ID + " active -" + DrainLabel}; !slices.Equal(got, want) {
		t.Errorf("calls of the manager: %v, want only the reactivation %v", got, want)
	}
}

func TestTheMarkOfANodeAnOperatorChangedMeanwhileIsOnlyRemoved(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	if err := w.joiner(2, 1).DrainNode(context.Background()); err != nil {
		t.Fatal(err)
	}
	node := w.engine(ips[2]).entry()
	node.Availability = "pause"
	w.deploy(t, 1)
	if node.Availability != "pause" || node.Labels[DrainLabel] != "" {
		t.Errorf("node %s with labels %v, want paused as the operator set it, without the mark", node.Availability, node.Labels)
	}
}

// A node an operator paused is drained for the VM's stop, and paused again when it starts:
// paused, the swarm keeps its tasks running but places no new ones there.
func TestANodePausedBeforeTheDrainIsPausedAgain(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	node := w.engine(ips[2]).entry()
	node.Availability = "pause"
	if err := w.joiner(2, 1).DrainNode(context.Background()); err != nil {
		t.Fatal(err)
	}
	if node.Availability != "drain" || node.Labels[DrainLabel] != DrainedByBOSH || node.Labels[AvailabilityBeforeDrain] != "pause" {
		t.Errorf("node %s with labels %v, want drained, marked, and its pause kept in a label", node.Availability, node.Labels)
	}
	w.deploy(t, 1)
	if node.Availability != "pause" || len(node.Labels) != 0 {
		t.Errorf("node %s with labels %v, want paused again without the marks", node.Availability, node.Labels)
	}
}

func TestDrainNodeFailsAndChangesNothingWhereNoManagerAnswers(t *testing.T) {
	w := newWorld(ips...)
	w.deploy(t, 1)
	w.engine(ips[0]).down = true
	err := w.joiner(2, 1).DrainNode(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no manager answers") || !strings.Contains(err.Error(), ips[0]) {
		t.Errorf("DrainNode with the manager down: %v, want an error naming the manager asked", err)
	}
	if n := w.engine(ips[2]).entry(); n.Availability != "active" || len(n.Labels) > 0 {
		t.Errorf("node %s with labels %v, want it unchanged", n.Availability, n.Labels)
	}
}

func TestDrainNodeOfAnEngineInNoSwarmDoesNothing(t *testing.T) {
	w := newWorld(ips...)
	if err := w.joiner(1, 1).DrainNode(context.Background()); err != nil {
		t.Errorf("DrainNode of an engine in no swarm: %v, want nil (nothing to drain)", err)
	}
	if calls := w.engine(ips[1]).calls; len(calls) > 0 {
		t.Errorf("calls %v, want none", calls)
	}
}
