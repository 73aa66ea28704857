package broker

import (
	"context"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Backup and restore (BBR): the operator's scripts lock the broker, so that the records and the
// instances' data are saved (or restored) as of one moment, then save or restore them through
// the admin endpoints, then unlock it. While it is locked the broker refuses every request that
// would change an instance or a binding; reading goes on.

// lockPoll is how often Lock looks whether the operations it waits for have ended.
const lockPoll = 100 * time.Millisecond

// Lock refuses changes from now on and returns once no operation and no binding command runs
// any more (osbapi.Admin). Locking a locked broker is no error. When ctx ends first the broker
// stays locked: the operator's unlock follows either way.
func (b *Broker) Lock(ctx context.Context) error {
	b.mu.Lock()
	if !b.locked {
		b.log.Info("locked for a backup or restore: changes are refused until the unlock")
	}
	b.locked = true
	b.mu.Unlock()
	for {
		b.mu.Lock()
		busy := len(b.running) + len(b.bindingWork)
		b.mu.Unlock()
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// Unlock accepts changes again (osbapi.Admin).
func (b *Broker) Unlock(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.locked {
		b.log.Info("unlocked: changes are accepted again")
	}
	b.locked = false
	return nil
}

// refuseWhileLocked is the answer to a change asked for while the broker is locked, nil when it
// is not. b.mu must be held.
func (b *Broker) refuseWhileLocked() error {
	if !b.locked {
		return nil
	}
	return osbapi.Unprocessable(osbapi.CodeConcurrencyError, "the service broker is being backed up or restored by its operator and accepts no changes meanwhile; try again in a few minutes")
}

// requireLocked refuses backup and restore work on an unlocked broker: an operation could
// change what is being saved or restored.
func (b *Broker) requireLocked() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.locked {
		return osbapi.Conflict("the broker is not locked: lock it first (PUT /admin/lock, the BBR lock scripts), so that no operation changes what is saved or restored")
	}
	return nil
}
