package broker

import (
	"context"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// eventsRetry is the pause before the broker follows the engine's events again after the
// stream broke (dockerd restarted).
const eventsRetry = 2 * time.Second

// watchContainers logs what happens to the broker's containers behind its back — one dies, the
// kernel kills one for memory, the engine restarts one — until ctx ends. An operator learns of
// a crash-looping instance from the log instead of from its app's users.
func (b *Broker) watchContainers(ctx context.Context) {
	for {
		err := b.engine.ContainerEvents(ctx, map[string]string{LabelBroker: b.cfg.Name}, b.containerEvent)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("the engine's event stream broke; following it again", "error", err.Error(), "retry_in", eventsRetry.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(eventsRetry):
		}
	}
}

// containerEvent logs an event of one of the broker's containers unless the broker caused it:
// while an operation works on the instance, its container stops and starts by design.
func (b *Broker) containerEvent(ev dockerengine.ContainerEvent) {
	instanceID := ev.Labels[LabelInstanceID]
	var what, event string
	switch ev.Action {
	case "die":
		what, event = "a container of the broker died", "died"
	case "oom":
		what, event = "a container of the broker ran out of memory", "oom"
	case "start", "restart":
		what, event = "a container of the broker was started again by the engine", "restarted"
	default:
		return
	}
	b.mu.Lock()
	inst, found, err := b.store.Instance(instanceID)
	// A backup or restore (the broker is locked) stops and starts containers by design too.
	busy := b.running[instanceID] != nil || b.locked
	b.mu.Unlock()
	if err != nil || !found || !inst.Provisioned || inst.Operation.InProgress() || busy {
		return
	}
	service, plan := b.planNames(inst.ServiceID, inst.PlanID)
	b.cfg.Observer.ContainerEvent(service, plan, event)
	attrs := []any{"instance_id", instanceID, "container", ev.Name, "event", ev.Action}
	if ev.Action == "die" {
		attrs = append(attrs, "exit_code", ev.ExitCode)
	}
	b.log.Warn(what, attrs...)
}
