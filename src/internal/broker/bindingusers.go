package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// A binding of a plan with `bindings` is a user of its own in the service: created by the
// plan's create command when the binding is made, dropped by its drop command when it is
// unbound, so that an unbound app or a deleted service key loses its access at once. The
// commands run inside the instance's container; the users live in its data.

// newBindingUser makes a binding's user: a name valid in every engine the broker runs that
// tells nothing about the instance, app or binding, and a password from crypto/rand.
func newBindingUser() store.BindingUser {
	return store.BindingUser{Username: credentials.Identifier(16), Password: credentials.Random(24)}
}

// bindingKey names one binding of one instance.
type bindingKey struct{ instanceID, bindingID string }

// claimBinding registers work on a binding's user, or returns what already works on it.
// b.mu must be held.
func (b *Broker) claimBinding(k bindingKey, what string) (busy string) {
	if busy, ok := b.bindingWork[k]; ok {
		return busy
	}
	b.bindingWork[k] = what
	return ""
}

// releaseBinding ends the work registered by claimBinding.
func (b *Broker) releaseBinding(k bindingKey) {
	b.mu.Lock()
	delete(b.bindingWork, k)
	b.mu.Unlock()
}

// bindingWorkOn says what works on a binding's user of the instance, "" when nothing does:
// the instance must not be updated or deleted under it. b.mu must be held.
func (b *Broker) bindingWorkOn(instanceID string) string {
	for k, what := range b.bindingWork {
		if k.instanceID == instanceID {
			return what
		}
	}
	return ""
}

// userBindings is the `bindings` section whose drop command removes binding's user: that of
// the instance's plan now (a plan change keeps the engine and its users), else that of the
// plan the binding was made with.
func (b *Broker) userBindings(inst store.Instance, binding store.Binding) (*catalog.Bindings, error) {
	for _, planID := range []string{inst.PlanID, binding.PlanID} {
		if _, plan, ok := b.cfg.Catalog.PlanByID(planID); ok && plan.Bindings != nil {
			return plan.Bindings, nil
		}
	}
	return nil, forUser(nil, "the binding has a user of its own, but the catalog no longer says how to remove it (plan %s has no bindings section): ask the operator", inst.PlanID)
}

// runBindingCommand runs a create or drop command for user in the instance's container. The
// secrets go into the command's environment only. A failure comes back told for the platform's
// user; the command's output goes to the log only, as a tail with every secret redacted.
// created, when set, learns the exec's id before the command starts.
func (b *Broker) runBindingCommand(ctx context.Context, inst store.Instance, bindings *catalog.Bindings, what string, user store.BindingUser, created func(execID string) error) error {
	cmd := map[string][]string{"create": bindings.Create, "drop": bindings.Drop}[what]
	env := []string{
		catalog.EnvBindingUsername + "=" + user.Username,
		catalog.EnvBindingPassword + "=" + user.Password,
		catalog.EnvInstanceUsername + "=" + inst.Credentials.Username,
		catalog.EnvInstancePassword + "=" + inst.Credentials.Password,
		catalog.EnvInstanceDBName + "=" + inst.Credentials.DBName,
	}
	ctx, cancel := context.WithTimeout(ctx, bindings.Timeout.D())
	defer cancel()
	res, err := b.runInContainer(ctx, containerName(inst.ID), dockerengine.Exec{Cmd: cmd, Env: env}, created)
	switch {
	case err == nil && res.ExitCode == 0:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return forUser(err, "the service's %s command for the binding's user did not finish within %s", what, bindings.Timeout.D())
	case errors.Is(err, dockerengine.ErrNodeDown):
		return forUser(err, nodeDown)
	case dockerengine.IsUnavailable(err):
		return forUser(err, "the broker could not reach its container engine")
	case dockerengine.IsNotFound(err) || dockerengine.IsConflict(err):
		return forUser(err, "the instance's container is not running (it may be restarting)")
	case err != nil:
		return err
	}
	tail := credentials.Redact(lastLines(string(res.Output), logTail), secretsOf(inst, user)...)
	b.log.Error("binding command failed", "instance_id", inst.ID, "command", what, "exit_code", res.ExitCode, "output_tail", tail)
	return forUser(nil, "the service's %s command for the binding's user failed with exit status %d", what, res.ExitCode)
}

// secretsOf lists what the log must never show of an instance and a binding's user.
func secretsOf(inst store.Instance, user store.BindingUser) []string {
	return []string{user.Password, user.Username, inst.Credentials.Password, inst.Credentials.Username, inst.Credentials.DBName}
}

// lastLines is the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// dropUser removes binding's user from the service. A create command that outlived a broker
// killed while it ran is waited for first, or it could create the user after the drop.
func (b *Broker) dropUser(ctx context.Context, inst store.Instance, binding store.Binding) error {
	bindings, err := b.userBindings(inst, binding)
	if err != nil {
		return err
	}
	if binding.CreateExec != "" {
		b.waitForExec(ctx, binding.CreateExec, bindings.Timeout.D())
	}
	return b.runBindingCommand(ctx, inst, bindings, "drop", *binding.User, nil)
}

// waitForExec waits until an exec has ended (or the engine has forgotten it, as it does when
// its container stops), at most limit.
func (b *Broker) waitForExec(ctx context.Context, execID string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		state, err := b.engine.InspectExec(ctx, execID)
		if err != nil || !state.Running {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dropHalfCreatedBindings removes the users of bindings still marked as being created that no
// request works on: a broker killed between recording a binding and answering it left them, or
// a failed bind could not drop its user then. The platform never got their credentials; the
// records go too, so that it can bind again. It runs at start and with housekeeping.
func (b *Broker) dropHalfCreatedBindings(ctx context.Context) {
	records, err := b.store.Instances()
	if err != nil {
		b.log.Error("reading the instances to find half-created bindings", "error", err.Error())
		return
	}
	for _, inst := range records {
		bindings, err := b.store.Bindings(inst.ID)
		if err != nil {
			b.log.Error("reading the bindings of an instance", "instance_id", inst.ID, "error", err.Error())
			continue
		}
		for _, binding := range bindings {
			if binding.Creating {
				b.dropHalfCreated(ctx, inst, binding)
			}
		}
	}
}

// dropHalfCreated drops the user of one half-created binding and forgets the binding.
func (b *Broker) dropHalfCreated(ctx context.Context, inst store.Instance, binding store.Binding) {
	k := bindingKey{inst.ID, binding.ID}
	b.mu.Lock()
	busy := b.claimBinding(k, "dropping the user of a half-created binding")
	b.mu.Unlock()
	if busy != "" {
		return // a request works on it
	}
	defer b.releaseBinding(k)
	if err := b.dropUser(ctx, inst, binding); err != nil {
		b.log.Error("the user of a half-created binding could not be dropped; housekeeping tries again", "instance_id", inst.ID, "binding_id", binding.ID, "error", err.Error())
		return
	}
	if err := b.store.DeleteBinding(inst.ID, binding.ID); err != nil {
		b.log.Error("forgetting a half-created binding", "instance_id", inst.ID, "binding_id", binding.ID, "error", err.Error())
		return
	}
	b.log.Warn("dropped the user of a half-created binding: the broker stopped before it answered the bind", "instance_id", inst.ID, "binding_id", binding.ID)
	b.reportMu.Lock()
	b.report.DroppedHalfCreatedBindings = append(b.report.DroppedHalfCreatedBindings, inst.ID+"/"+binding.ID)
	b.reportMu.Unlock()
}

// bindFailure is the platform user's description of a bind whose user could not be created.
func bindFailure(err error, undone bool) string {
	what := userMessage(err, "the service host's container engine failed")
	if undone {
		return fmt.Sprintf("the binding's user could not be created: %s. Nothing was kept: bind again, and ask the operator if it fails again", what)
	}
	return fmt.Sprintf("the binding's user could not be created: %s. The broker removes what was made in the background: bind again in a minute, and ask the operator if it fails again", what)
}
