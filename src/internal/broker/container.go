package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Labels on every container of the broker: how it finds its containers again (and tells
// them from any other on the engine) when it reconciles.
const (
	LabelBroker     = "docker-broker.broker"
	LabelInstanceID = "docker-broker.instance_id"
	LabelServiceID  = "docker-broker.service_id"
	LabelPlanID     = "docker-broker.plan_id"
	// LabelSpec is a digest of everything the container was created from, so that the broker
	// knows an existing container to be the one it would create.
	LabelSpec = "docker-broker.spec"
)

// containerName is the instance's container name, as the original broker named it.
func containerName(instanceID string) string { return "cf-" + instanceID }

// runContainer (re)creates the instance's container from plan and waits until it is healthy:
// the image is made available, host ports allocated (or reused), directories prepared, any
// previous container of the instance replaced — or adopted, when it is already the container
// the plan asks for (an attempt interrupted by a broker restart made it). It is the one path
// from a record to a running container, shared by provision, update and reconciliation.
func (b *Broker) runContainer(ctx context.Context, inst *store.Instance, service catalog.Service, plan catalog.Plan) error {
	img, err := b.ensureImage(ctx, plan.Container.ImageRef())
	if err != nil {
		return err
	}
	ports := plan.Container.ExposePorts
	if len(ports) == 0 {
		ports = img.ExposedPorts
	}
	if err := b.place(ctx, inst, plan); err != nil {
		return err
	}
	if err := b.allocatePorts(inst, ports); err != nil {
		return err
	}
	spec, files, err := b.containerSpec(*inst, service, plan)
	if err != nil {
		return err
	}
	if err := b.createVolumes(ctx, inst.ID, plan.Container.PersistentVolumes); err != nil {
		return err
	}
	secrets, err := b.writeSecretFiles(ctx, *inst, plan)
	if err != nil {
		return err
	}
	id, running, err := b.adoptOrCreate(ctx, spec)
	if err != nil {
		return err
	}
	// The container is the plan's as it is now, whatever version the instance ran before.
	inst.MaintenanceInfo = planVersion(plan)
	user := plan.Container.User
	if user == "" {
		user = img.User
	}
	// Paths in the instance's directory: its secret files and its volumes.
	owned := append(secrets, plan.Container.PersistentVolumes...)
	uid, gid := -1, -1
	if len(owned) > 0 || len(files) > 0 {
		if uid, gid, err = b.containerOwner(ctx, id, user); err != nil {
			return err
		}
	}
	if err := b.chownAll(ctx, inst.ID, owned, uid, gid); err != nil {
		return err
	}
	// After the create, which tells the owner, and before the start, which reads them.
	if err := b.writeFiles(ctx, inst.ID, files, uid, gid); err != nil {
		return err
	}
	if !running {
		if err := b.engine.StartContainer(ctx, id); err != nil {
			return err
		}
		b.log.Info("container started", "instance_id", inst.ID, "container", spec.Name, "image", spec.Image, "operation", inst.Operation.ID)
	}
	return b.waitHealthy(ctx, id, *inst, plan)
}

// adoptOrCreate returns the container of spec: the existing one of its name when it was made
// from the same spec, else a new one in place of whatever had the name. Adopting matters after
// a broker restart: the interrupted attempt's container holds the instance's host ports, and
// removing it only to create its twin races the engine's release of those ports.
func (b *Broker) adoptOrCreate(ctx context.Context, spec dockerengine.ContainerSpec) (id string, running bool, err error) {
	existing, err := b.engine.InspectContainer(ctx, spec.Name)
	switch {
	case err == nil && existing.Labels[LabelSpec] == spec.Labels[LabelSpec] && existing.State != "dead":
		b.log.Info("adopting the container an earlier attempt created", "container", spec.Name, "state", existing.State)
		return existing.ID, existing.Running, nil
	case err == nil:
		if err := b.removeContainer(ctx, spec.Name); err != nil {
			return "", false, err
		}
	case !dockerengine.IsNotFound(err):
		return "", false, err
	}
	id, err = b.engine.CreateContainer(ctx, spec)
	return id, false, err
}

// containerSpec is the container of inst as plan describes it, with the plan's files as
// rendered for inst. Its digest label covers both: what the container would find changed, it is
// recreated.
func (b *Broker) containerSpec(inst store.Instance, service catalog.Service, plan catalog.Plan) (dockerengine.ContainerSpec, []volumeFile, error) {
	c := plan.Container
	facts := catalog.NewInstanceFacts(inst.ID, containerName(inst.ID), b.host(inst), inst.Ports)
	env, err := c.RenderEnvironment(facts)
	if err != nil {
		return dockerengine.ContainerSpec{}, nil, planMisfit(err)
	}
	files, err := renderFiles(plan, inst, facts)
	if err != nil {
		return dockerengine.ContainerSpec{}, nil, planMisfit(err)
	}
	params, err := parameterEnv(inst.Parameters)
	if err != nil {
		return dockerengine.ContainerSpec{}, nil, err
	}
	env = append(env, params...)
	env = append(env, "NAME="+containerName(inst.ID))
	var secretBinds []string
	// Credentials last: whatever came before, the container sees the instance's own secrets.
	for _, f := range credentialValues(plan, inst) {
		switch {
		case f.field.Key == "":
		case f.field.AsFile:
			env = append(env, f.field.Key+"="+catalog.SecretPath(f.name))
			secretBinds = append(secretBinds, b.secretFile(inst.ID, f.name)+":"+catalog.SecretPath(f.name)+":ro")
		default:
			env = append(env, f.field.Key+"="+f.value)
		}
	}
	spec := dockerengine.ContainerSpec{
		Name:       containerName(inst.ID),
		Image:      c.ImageRef(),
		Node:       inst.Node,
		Hostname:   c.Hostname,
		Cmd:        c.Command,
		Entrypoint: c.Entrypoint,
		Env:        env,
		WorkingDir: c.Workdir,
		User:       c.User,
		Labels: map[string]string{
			LabelBroker:     b.cfg.Name,
			LabelInstanceID: inst.ID,
			LabelServiceID:  service.ID,
			LabelPlanID:     plan.ID,
		},
		RestartPolicy: dockerengine.RestartPolicy{Name: c.Restart.Name, MaxRetries: c.Restart.MaxRetries},
		Memory:        c.Memory,
		MemorySwap:    c.MemorySwap,
		CPUShares:     c.CPUShares,
		Privileged:    c.Privileged,
		CapAdd:        c.CapAdds,
		CapDrop:       c.CapDrops,
		Sysctls:       c.Sysctls,
		ShmSize:       c.ShmSize,
	}
	for _, u := range c.Ulimits {
		spec.Ulimits = append(spec.Ulimits, dockerengine.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, containerPort := range slices.Sorted(maps.Keys(inst.Ports)) {
		spec.Ports = append(spec.Ports, dockerengine.PortMapping{ContainerPort: containerPort, HostIP: b.cfg.BindIP, HostPort: inst.Ports[containerPort]})
	}
	for _, vol := range c.PersistentVolumes {
		spec.Binds = append(spec.Binds, b.volumeDir(inst.ID, vol)+":"+vol)
	}
	spec.Binds = append(spec.Binds, secretBinds...)
	digest, err := json.Marshal(spec) // deterministic: struct fields in order, map keys sorted
	if err != nil {
		return dockerengine.ContainerSpec{}, nil, err
	}
	if len(files) > 0 {
		// Only then, so that a spec without files keeps the digest it had before files existed.
		filesDigest, err := json.Marshal(digestOfFiles(files))
		if err != nil {
			return dockerengine.ContainerSpec{}, nil, err
		}
		digest = append(digest, filesDigest...)
	}
	sum := sha256.Sum256(digest)
	spec.Labels[LabelSpec] = hex.EncodeToString(sum[:16])
	return spec, files, nil
}

// planMisfit is a plan's template that failed for an instance: its port is not among those the
// image publishes (the plan leaves them to the image), which only the operator can fix.
func planMisfit(err error) error {
	return forUser(err, "the service's plan does not fit its image (a port it does not publish?): ask the operator, who finds the reason in the broker's log")
}

// parameterEnv turns the instance's parameters (validated against the plan's schema, whose
// property names are env names that never clash with credentials) into KEY=VALUE entries.
func parameterEnv(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var params map[string]any
	if err := json.Unmarshal(raw, &params); err != nil {
		return nil, fmt.Errorf("stored parameters are not an object: %w", err)
	}
	var env []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		switch v := params[k].(type) {
		case string:
			env = append(env, k+"="+v)
		default:
			text, _ := json.Marshal(v)
			env = append(env, k+"="+string(text))
		}
	}
	return env, nil
}

// removeContainer stops and removes the container of that name, if there is one.
func (b *Broker) removeContainer(ctx context.Context, name string) error {
	if err := b.engine.StopContainer(ctx, name, b.cfg.StopGrace); err != nil {
		if dockerengine.IsNotFound(err) {
			return nil
		}
		b.log.Warn("container did not stop; removing it by force", "container", name, "error", err.Error())
	}
	if err := b.engine.RemoveContainer(ctx, name); err != nil && !dockerengine.IsNotFound(err) {
		return err
	}
	return nil
}

// What pulled an image whose pull failed (Observer.ImagePullFailed).
const (
	pullDuringFetch    = "fetch_images"       // the background pull at start
	pullDuringCreation = "container_creation" // a provision, update or recreate
)

// ensureImage returns the image ref, pulling it once if the engine lacks it.
func (b *Broker) ensureImage(ctx context.Context, ref string) (dockerengine.Image, error) {
	img, err := b.engine.InspectImage(ctx, ref)
	if err == nil || !dockerengine.IsNotFound(err) {
		return img, err
	}
	b.log.Info("pulling image for a provision", "image", ref)
	if err := b.engine.PullImage(ctx, ref, nil); err != nil {
		b.cfg.Observer.ImagePullFailed(ref, pullDuringCreation)
		return dockerengine.Image{}, forUser(err, "the service's image %s is not on the service host and could not be pulled: ask the operator to load it or to fix the plan's image", ref)
	}
	return b.engine.InspectImage(ctx, ref)
}
