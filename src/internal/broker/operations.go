package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// operation is an operation running in this process.
type operation struct {
	id     string
	kind   string
	cancel context.CancelCauseFunc
	done   chan struct{}
	err    error // the work's result, valid once done is closed
}

// Why an operation's context was cancelled. Work that sees one of these leaves the instance's
// record to whoever cancelled it.
var (
	// errShutdown: the broker stops; the record stays "in progress" and the next start resumes it.
	errShutdown = errors.New("the broker is shutting down")
	// errHalted: a deprovision stops a provision (spec: deleting during provisioning halts it).
	errHalted = errors.New("halted by a deprovision")
)

// errSyncTimeout: a synchronous request waited SyncTimeout; the work fails and cleans up.
var errSyncTimeout = errors.New("did not finish within the synchronous timeout")

// newOperationID returns the token the platform polls last_operation with.
func newOperationID(kind string) string {
	return kind + "-" + credentials.Random(12)
}

// startLocked runs work for an instance in the background. b.mu must be held; there must be
// no other operation on the instance.
func (b *Broker) startLocked(instanceID string, op store.Operation, work func(ctx context.Context) error) *operation {
	ctx, cancel := context.WithCancelCause(context.Background())
	running := &operation{id: op.ID, kind: op.Kind, cancel: cancel, done: make(chan struct{})}
	b.running[instanceID] = running
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel(nil)
		err := work(ctx)
		b.mu.Lock()
		if b.running[instanceID] == running {
			delete(b.running, instanceID)
		}
		b.mu.Unlock()
		running.err = err
		close(running.done)
	}()
	return running
}

// waitSync waits for a synchronous request's operation, at most SyncTimeout. When time runs out
// it cancels the work, which then fails and cleans up, and answers 422 AsyncRequired.
func (b *Broker) waitSync(op *operation, what string) error {
	select {
	case <-op.done:
		return op.err
	case <-time.After(b.cfg.SyncTimeout):
		op.cancel(errSyncTimeout)
		<-op.done
		if op.err == nil {
			return nil // it finished as time ran out
		}
		return osbapi.Unprocessable(osbapi.CodeAsyncRequired, "%s takes longer than %s; send the request with accepts_incomplete=true", what, b.cfg.SyncTimeout)
	}
}

// left reports whether the work must leave the record alone because its context was
// cancelled by a shutdown or a deprovision.
func left(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, errShutdown) || errors.Is(cause, errHalted)
}

// finish records the end of the instance's current operation.
func (b *Broker) finish(inst *store.Instance, state, description string) error {
	inst.Operation.State = state
	inst.Operation.Description = description
	inst.Operation.FinishedAt = b.clock.Now()
	if err := b.store.PutInstance(*inst); err != nil {
		return fmt.Errorf("recording the end of %s %s: %w", inst.Operation.Kind, inst.Operation.ID, err)
	}
	b.operationEnded(inst.Operation.Kind, inst.ServiceID, inst.PlanID, state, inst.Operation.StartedAt)
	return nil
}

// The kinds of binding operations, beside the instance operations' (store.Provision, ...).
const (
	bindKind   = "bind"
	unbindKind = "unbind"
)

// operationEnded tells the observer that an operation of kind on an instance of the plan
// ended with outcome (store.Succeeded or store.Failed) after running since started.
func (b *Broker) operationEnded(kind, serviceID, planID, outcome string, started time.Time) {
	service, plan := b.planNames(serviceID, planID)
	b.cfg.Observer.OperationEnded(kind, service, plan, outcome, b.clock.Now().Sub(started))
}

// outcome is the outcome of an operation that ended with err.
func outcome(err error) string {
	if err != nil {
		return store.Failed
	}
	return store.Succeeded
}

// planNames are the catalog names of a plan and its service, or the ids for a plan the
// catalog no longer has.
func (b *Broker) planNames(serviceID, planID string) (service, plan string) {
	if s, p, ok := b.cfg.Catalog.PlanByID(planID); ok {
		return s.Name, p.Name
	}
	return serviceID, planID
}
