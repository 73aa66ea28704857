package broker

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// RestoreState replaces the broker's records of instances and bindings (with their
// credentials and host ports) by those of a backup's state file, and returns the provisioned
// instances among them, whose data RestoreInstance brings back (osbapi.Admin). The broker must
// be locked. Containers of instances the backup does not know are left alone: the next start
// reports them as containers without a record.
func (b *Broker) RestoreState(_ context.Context, snapshot io.Reader) ([]string, error) {
	if err := b.requireLocked(); err != nil {
		return nil, err
	}
	instances, err := b.store.ReplaceRecords(snapshot)
	if err != nil {
		return nil, osbapi.BadRequest("the state file to restore: %v", err)
	}
	ids := provisioned(instances)
	b.log.Info("records restored from a backup", "instances", len(instances), "provisioned", len(ids))
	return ids, nil
}

// RestoreInstance brings an instance of the restored records back with the data of a backup
// (osbapi.Admin): its container, if any, is removed, then, for data in FormatVolumes, the
// volumes are replaced by the archive's and the container is created from the record (the
// same credentials and host ports); for FormatDump, the container is created on empty volumes
// (the instance's old directory goes where deleted instances' go) and, once it is ready, the
// plan's restore command reads the dump. The broker must be locked.
func (b *Broker) RestoreInstance(ctx context.Context, instanceID, format string, data io.Reader) error {
	if err := b.requireLocked(); err != nil {
		return err
	}
	inst, _, plan, err := b.loadProvisioned(instanceID)
	if err != nil {
		return err
	}
	if want := backupFormat(plan); format != want {
		return osbapi.BadRequest("the data of instance %s is a %s, but its plan %s is restored from a %s: the services file changed since the backup; restore with the services file of the backup", instanceID, format, plan.Name, want)
	}
	if err := b.removeContainer(ctx, containerName(instanceID)); err != nil {
		return fmt.Errorf("removing the container of instance %s before its restore: %w", instanceID, err)
	}
	if err := b.restoreData(ctx, inst, plan, format, data); err != nil {
		return err
	}
	b.log.Info("instance restored from a backup", "instance_id", instanceID, "format", format)
	return nil
}

// restoreData creates the instance's container again with the data of a backup.
func (b *Broker) restoreData(ctx context.Context, inst store.Instance, plan catalog.Plan, format string, data io.Reader) error {
	if format == FormatVolumes {
		if err := b.disk.ReplaceVolumes(ctx, inst.ID, plan.Container.PersistentVolumes, data); err != nil {
			return fmt.Errorf("restoring the volumes of instance %s: %w", inst.ID, err)
		}
		return b.recreateContainer(ctx, inst)
	}
	if err := b.removeVolumes(ctx, inst.ID); err != nil {
		return err
	}
	if err := b.recreateContainer(ctx, inst); err != nil {
		return err
	}
	return b.runDataCommand(ctx, inst, plan.Backup, "restore", data, nil)
}
