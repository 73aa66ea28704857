package broker

import (
	"context"
	"fmt"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Placer is an engine that spreads containers over several machines (package swarm). Before a
// new instance has directories or a container, it decides the machine that holds both for good,
// and says where apps reach the ports published there.
type Placer interface {
	Place(ctx context.Context, name string, memory int64) (node, address string, err error)
}

// place decides inst's machine once, when the engine is a Placer, and records it before any
// directory or container of the instance exists: a broker restart then finds the instance's
// data where it left it.
func (b *Broker) place(ctx context.Context, inst *store.Instance, plan catalog.Plan) error {
	placer, ok := b.engine.(Placer)
	if !ok || inst.Node != "" {
		return nil
	}
	node, address, err := placer.Place(ctx, containerName(inst.ID), plan.Container.Memory)
	if err != nil {
		return forUser(err, "no docker VM could take another %s instance (full, down or drained; the broker's log says which): delete an instance, or ask the operator to add a docker VM", plan.Name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	stored, found, err := b.store.Instance(inst.ID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("instance %s has no record", inst.ID)
	}
	// Only the placement is recorded, as with the ports: the rest of inst may be an update's.
	stored.Node, stored.Host = node, address
	inst.Node, inst.Host = node, address
	return b.store.PutInstance(stored)
}

// host is where apps reach inst's published ports: its machine's address, or the broker's
// external host when the engine runs everything on one.
func (b *Broker) host(inst store.Instance) string {
	if inst.Host != "" {
		return inst.Host
	}
	return b.cfg.ExternalHost
}
