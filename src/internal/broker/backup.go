package broker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// The formats of an instance's data in a backup.
const (
	// FormatDump is what the plan's backup.dump command wrote.
	FormatDump = "dump"
	// FormatVolumes is a tar archive of the persistent volumes, copied while the container was
	// stopped: each entry's name is the volume's path without its leading '/', then the file's.
	FormatVolumes = "volumes"
)

// backupFormat is how a backup holds the data of instances of plan.
func backupFormat(plan catalog.Plan) string {
	if plan.Backup != nil {
		return FormatDump
	}
	return FormatVolumes
}

// BackupInstances lists the instances whose data a backup holds: every provisioned one
// (osbapi.Admin). The broker must be locked.
func (b *Broker) BackupInstances(context.Context) ([]string, error) {
	if err := b.requireLocked(); err != nil {
		return nil, err
	}
	instances, err := b.store.Instances()
	if err != nil {
		return nil, err
	}
	return provisioned(instances), nil
}

// provisioned lists the ids of the provisioned instances: the others have no data.
func provisioned(instances []store.Instance) []string {
	ids := []string{}
	for _, inst := range instances {
		if inst.Provisioned {
			ids = append(ids, inst.ID)
		}
	}
	return ids
}

// BackupState writes a consistent copy of the state file to w: every instance and binding with
// its credentials (osbapi.Admin). The broker must be locked.
func (b *Broker) BackupState(_ context.Context, w io.Writer) error {
	if err := b.requireLocked(); err != nil {
		return err
	}
	_, err := b.store.WriteSnapshot(w)
	return err
}

// BackupInstance returns the format of the instance's data in a backup and what writes that
// data (osbapi.Admin): the plan's dump command's output, run in the running container, or else
// a tar archive of the persistent volumes, copied while the container is stopped. The broker
// must be locked.
func (b *Broker) BackupInstance(_ context.Context, instanceID string) (string, func(ctx context.Context, w io.Writer) error, error) {
	if err := b.requireLocked(); err != nil {
		return "", nil, err
	}
	inst, _, plan, err := b.loadProvisioned(instanceID)
	if err != nil {
		return "", nil, err
	}
	if plan.Backup != nil {
		return FormatDump, func(ctx context.Context, w io.Writer) error {
			return b.runDataCommand(ctx, inst, plan.Backup, "dump", nil, w)
		}, nil
	}
	return FormatVolumes, func(ctx context.Context, w io.Writer) error {
		return b.copyVolumesStopped(ctx, inst, plan, w)
	}, nil
}

// loadProvisioned reads a provisioned instance and its plan, or says why there is none.
func (b *Broker) loadProvisioned(instanceID string) (store.Instance, catalog.Service, catalog.Plan, error) {
	inst, found, err := b.store.Instance(instanceID)
	switch {
	case err != nil:
		return inst, catalog.Service{}, catalog.Plan{}, err
	case !found || !inst.Provisioned:
		return inst, catalog.Service{}, catalog.Plan{}, osbapi.NotFound("instance %s is not provisioned", instanceID)
	}
	return b.loadWithPlan(instanceID, "")
}

// copyVolumesStopped writes the instance's volumes as a tar archive while its container is
// stopped, so that the files are as the service left them, and starts it again.
func (b *Broker) copyVolumesStopped(ctx context.Context, inst store.Instance, plan catalog.Plan, w io.Writer) error {
	name := containerName(inst.ID)
	if err := b.engine.StopContainer(ctx, name, b.cfg.StopGrace); err != nil && !dockerengine.IsNotFound(err) {
		return fmt.Errorf("stopping the container of instance %s for its backup: %w", inst.ID, err)
	}
	b.log.Info("container stopped to copy its volumes", "instance_id", inst.ID, "container", name)
	copyErr := b.disk.ReadVolumes(ctx, inst.ID, plan.Container.PersistentVolumes, w)
	// Started again whatever the copy did, and awaited, so that the service answers when the
	// unlock lets the platform in again.
	startErr := b.recreateContainer(context.WithoutCancel(ctx), inst)
	if startErr == nil {
		b.log.Info("container started again after the copy of its volumes", "instance_id", inst.ID, "container", name)
	}
	return errors.Join(copyErr, startErr)
}

// runDataCommand runs the plan's dump or restore command in the instance's container, with the
// instance's credentials in its environment only, stdin as its input and its output into
// stdout. A failure is logged with the tail of its standard error, every secret redacted.
func (b *Broker) runDataCommand(ctx context.Context, inst store.Instance, backup *catalog.Backup, what string, stdin io.Reader, stdout io.Writer) error {
	cmd := map[string][]string{"dump": backup.Dump, "restore": backup.Restore}[what]
	env := []string{
		catalog.EnvInstanceUsername + "=" + inst.Credentials.Username,
		catalog.EnvInstancePassword + "=" + inst.Credentials.Password,
		catalog.EnvInstanceDBName + "=" + inst.Credentials.DBName,
	}
	ctx, cancel := context.WithTimeout(ctx, backup.Timeout.D())
	defer cancel()
	execID, err := b.engine.CreateExec(ctx, containerName(inst.ID), dockerengine.Exec{Cmd: cmd, Env: env, Stdin: stdin != nil})
	if err != nil {
		return fmt.Errorf("the %s command of instance %s: %w", what, inst.ID, err)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	res, err := b.engine.StreamExec(ctx, execID, stdin, stdout)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the %s command of instance %s did not finish within %s (the plan's backup.timeout)", what, inst.ID, backup.Timeout.D())
	case err != nil:
		return fmt.Errorf("the %s command of instance %s: %w", what, inst.ID, err)
	case res.ExitCode != 0:
		tail := credentials.Redact(lastLines(string(res.Output), logTail), secretsOf(inst, store.BindingUser{})...)
		b.log.Error("backup command failed", "instance_id", inst.ID, "command", what, "exit_code", res.ExitCode, "output_tail", tail)
		return fmt.Errorf("the %s command of instance %s failed with exit status %d: its output is in the broker's log", what, inst.ID, res.ExitCode)
	}
	return nil
}
