package broker

import (
	"context"
	"time"
)

// defaultHousekeepingInterval is how often housekeeping runs when Config leaves it unset.
const defaultHousekeepingInterval = time.Minute

// housekeep runs housekeeping every HousekeepingInterval until ctx ends.
func (b *Broker) housekeep(ctx context.Context) {
	interval := b.cfg.HousekeepingInterval
	if interval <= 0 {
		interval = defaultHousekeepingInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			b.housekeeping(ctx)
		}
	}
}

// housekeeping is what a long-running broker must do besides requests: remove what failed
// provisions and binds left while the engine did not answer, and purge tombstones and
// retained data past their time.
func (b *Broker) housekeeping(ctx context.Context) {
	b.retryCleanUps()
	b.dropHalfCreatedBindings(ctx)
	b.pruneTombstones()
	b.purgeRetention(ctx)
}

// pruneTombstones deletes tombstones past the window in which last_operation needs them.
func (b *Broker) pruneTombstones() {
	n, err := b.store.PruneTombstones(b.clock.Now().Add(-max(tombstoneRetention, b.cfg.TombstoneWindow)))
	switch {
	case err != nil:
		b.log.Error("old tombstones could not be pruned", "error", err.Error())
	case n > 0:
		b.log.Info("pruned old tombstones", "count", n)
	}
}

// retryCleanUps removes, one instance at a time, what failed provisions left behind.
func (b *Broker) retryCleanUps() {
	records, err := b.store.Instances()
	if err != nil {
		b.log.Error("housekeeping could not read the instances", "error", err.Error())
		return
	}
	for _, inst := range records {
		if !inst.Leftovers {
			continue
		}
		b.mu.Lock()
		op := b.startCleanUpLocked(inst.ID)
		b.mu.Unlock()
		if op != nil {
			<-op.done
		}
	}
}

// startCleanUpLocked starts removing the leftovers of a failed provision as the instance's
// operation, so that a provision or deprovision of the instance waits for it or halts it
// instead of racing it; the record keeps its failed provision for last_operation. It starts
// nothing when the record has changed since it was read. b.mu must be held.
func (b *Broker) startCleanUpLocked(instanceID string) *operation {
	inst, found, err := b.store.Instance(instanceID)
	if err != nil || !found || !inst.Leftovers || inst.Operation.InProgress() || b.running[instanceID] != nil {
		return nil
	}
	return b.startLocked(instanceID, inst.Operation, func(context.Context) error {
		if err := b.cleanUp(instanceID); err != nil {
			b.log.Warn("the leftovers of a failed provision could not be removed yet; trying again later", "instance_id", instanceID, "error", err.Error())
			return err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		inst, found, err := b.store.Instance(instanceID)
		if err != nil || !found || !inst.Leftovers || inst.Operation.InProgress() {
			return err
		}
		inst.Leftovers = false
		b.log.Info("removed the container and directories a failed provision left", "instance_id", instanceID, "operation", inst.Operation.ID)
		return b.store.PutInstance(inst)
	})
}
