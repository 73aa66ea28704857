package nodedisk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// errHelperGone is a helper that no longer runs: someone removed it, or its node's engine
// restarted. Nothing of the command ran.
var errHelperGone = errors.New("the helper container is gone")

// keptHelper is a node helper that waits for the next operation (Config.KeepHelpers).
type keptHelper struct {
	helper
	users int // operations using it now
}

// withNodeHelper runs work with a helper on engine's node that mounts the data and retention
// directories' common ancestor at nodeMount: the node's kept helper, or a one-shot one without
// KeepHelpers. A kept helper found gone is replaced once.
func (d *Disk) withNodeHelper(ctx context.Context, engine Engine, work func(h helper) error) error {
	if !d.cfg.KeepHelpers {
		return d.withOneShot(ctx, engine, d.nodeBinds(), work)
	}
	for attempt := 0; ; attempt++ {
		k, err := d.acquire(ctx, engine)
		if err != nil {
			return err
		}
		err = work(k.helper)
		d.release(engine, k, errors.Is(err, errHelperGone))
		if !errors.Is(err, errHelperGone) || attempt > 0 {
			return err
		}
	}
}

// nodeBinds are the bind mounts of a node helper: the data and retention directories' common
// ancestor at nodeMount.
func (d *Disk) nodeBinds() []string { return []string{d.mount + ":" + nodeMount} }

// Warm starts the kept helper of every node (Config.Nodes) that has none yet, so that the first
// operation on a node does not wait for one; nothing without KeepHelpers. It returns the nodes'
// failures: a node whose helper did not start gets one at its first operation.
func (d *Disk) Warm(ctx context.Context) error {
	if !d.cfg.KeepHelpers {
		return nil
	}
	engines, err := d.cfg.Nodes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, engine := range engines {
		k, err := d.acquire(ctx, engine)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.release(engine, k, false)
	}
	return errors.Join(errs...)
}

// acquire returns the node's kept helper, starting one if there is none.
func (d *Disk) acquire(ctx context.Context, engine Engine) (*keptHelper, error) {
	d.mu.Lock()
	defer d.mu.Unlock() // held while a helper starts: the node's other operations wait for it
	if k := d.kept[engine]; k != nil {
		k.users++
		return k, nil
	}
	h, err := d.startHelper(ctx, engine, d.nodeBinds(), "none")
	if err != nil {
		return nil, err
	}
	k := &keptHelper{helper: h, users: 1}
	d.kept[engine] = k
	return k, nil
}

// release ends an operation's use of k, which then waits for the next one; the last user of a
// helper found gone, or no longer kept (Close), removes it.
func (d *Disk) release(engine Engine, k *keptHelper, gone bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k.users--
	if gone && d.kept[engine] == k {
		delete(d.kept, engine)
	}
	if d.kept[engine] != k && k.users == 0 {
		go d.removeHelper(k.helper)
	}
}

// Close removes the kept helpers of every node and waits for the removals of helpers that no
// operation waited for; operations after it start new helpers.
func (d *Disk) Close() error {
	d.mu.Lock()
	var idle []helper
	for engine, k := range d.kept {
		delete(d.kept, engine)
		if k.users == 0 {
			idle = append(idle, k.helper)
		}
		// A helper in use is removed by its last user's release, which finds it no longer kept.
	}
	d.mu.Unlock()
	var errs []error
	for _, h := range idle {
		errs = append(errs, d.removeHelper(h))
	}
	d.mu.Lock()
	for d.removing > 0 {
		d.removed.Wait()
	}
	errs, d.removeErrs = append(errs, d.removeErrs...), nil
	d.mu.Unlock()
	return errors.Join(errs...)
}

// removeInBackground removes a helper without its operation waiting for the engine to tear
// it down; Close waits for the removal and reports its failure.
func (d *Disk) removeInBackground(h helper) {
	d.mu.Lock()
	d.removing++
	d.mu.Unlock()
	go func() {
		err := d.removeHelper(h)
		d.mu.Lock()
		defer d.mu.Unlock()
		if err != nil {
			d.removeErrs = append(d.removeErrs, err)
		}
		d.removing--
		d.removed.Broadcast()
	}()
}

// removeHelper removes a helper container, whatever the operation's context became.
func (d *Disk) removeHelper(h helper) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.engine.RemoveContainer(ctx, h.id); err != nil && !dockerengine.IsNotFound(err) {
		return fmt.Errorf("removing the helper container: %w", err)
	}
	return nil
}
