package dockerengine

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// ServiceSpec is a swarm service that runs Container as one replicated task pinned to one
// node: what the broker's container is on a swarm.
type ServiceSpec struct {
	// Container is the task's container. Its Name names the service, its Ports are published
	// in host mode on the node (a swarm service has no bind address: they listen on all of
	// the node's addresses), its Binds become bind mounts of the node's directories.
	Container ContainerSpec
	// ImageID, when set, is the image the task runs, by id: a node asks the registry for an
	// image named by tag before every task start (and waits on one it cannot reach), not for one
	// named by id. The service keeps Container.Image in a label (Service.Image).
	ImageID string
	// NodeID pins the task to one node (placement constraint node.id==NodeID).
	NodeID string
	// Replicas is 1 for a running service and 0 for a stopped one.
	Replicas uint64
	// MemoryReservation and NanoCPUsReservation are what the swarm scheduler sets aside on
	// the node for the task; neither limits the container.
	MemoryReservation   int64
	NanoCPUsReservation int64
	// StopGrace is how long the task may take to stop before it is killed.
	StopGrace time.Duration
}

// CreateService creates the swarm service of spec and returns its id. The image is used as
// named: the manager does not ask a registry for its digest (there may be none), and each node
// runs the image it holds.
func (c *Client) CreateService(ctx context.Context, spec ServiceSpec) (string, error) {
	s, err := swarmServiceSpec(spec)
	if err != nil {
		return "", err
	}
	res, err := c.api.ServiceCreate(ctx, client.ServiceCreateOptions{Spec: s, QueryRegistry: false})
	if err != nil {
		return "", fmt.Errorf("creating service %s: %w", spec.Container.Name, err)
	}
	return res.ID, nil
}

// imageLabel holds the image reference of a service whose task runs its image by id.
const imageLabel = "docker-broker.image"

// swarmServiceSpec is spec in the engine's terms.
func swarmServiceSpec(spec ServiceSpec) (swarm.ServiceSpec, error) {
	cs := spec.Container
	var ports []swarm.PortConfig
	for _, p := range cs.Ports {
		port, err := network.ParsePort(p.ContainerPort)
		if err != nil {
			return swarm.ServiceSpec{}, fmt.Errorf("service %s: port %q: %w", cs.Name, p.ContainerPort, err)
		}
		published, err := strconv.ParseUint(p.HostPort, 10, 16)
		if err != nil {
			return swarm.ServiceSpec{}, fmt.Errorf("service %s: port %q: host port %q is not a port number (a swarm service publishes fixed ports)", cs.Name, p.ContainerPort, p.HostPort)
		}
		ports = append(ports, swarm.PortConfig{
			Protocol:      port.Proto(),
			TargetPort:    uint32(port.Num()),
			PublishedPort: uint32(published),
			PublishMode:   swarm.PortConfigPublishModeHost,
		})
	}
	var mounts []mount.Mount
	for _, bind := range cs.Binds {
		m, err := bindMount(bind)
		if err != nil {
			return swarm.ServiceSpec{}, fmt.Errorf("service %s: %w", cs.Name, err)
		}
		mounts = append(mounts, m)
	}
	var ulimits []*container.Ulimit
	for _, u := range cs.Ulimits {
		ulimits = append(ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	restart, err := swarmRestartPolicy(cs.RestartPolicy)
	if err != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("service %s: %w", cs.Name, err)
	}
	grace := spec.StopGrace
	replicas := spec.Replicas
	resources := &swarm.ResourceRequirements{
		Reservations: &swarm.Resources{MemoryBytes: spec.MemoryReservation, NanoCPUs: spec.NanoCPUsReservation},
	}
	if cs.Memory > 0 {
		resources.Limits = &swarm.Limit{MemoryBytes: cs.Memory}
	}
	image, labels := cs.Image, cs.Labels
	if spec.ImageID != "" {
		image, labels = spec.ImageID, maps.Clone(cs.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[imageLabel] = cs.Image
	}
	return swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: cs.Name, Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:           image,
				Labels:          cs.Labels,
				Command:         cs.Entrypoint,
				Args:            cs.Cmd,
				Hostname:        cs.Hostname,
				Env:             cs.Env,
				Dir:             cs.WorkingDir,
				User:            cs.User,
				Mounts:          mounts,
				StopGracePeriod: &grace,
				Sysctls:         cs.Sysctls,
				CapabilityAdd:   cs.CapAdd,
				CapabilityDrop:  cs.CapDrop,
				Ulimits:         ulimits,
			},
			Resources:     resources,
			RestartPolicy: restart,
			Placement:     &swarm.Placement{Constraints: []string{"node.id==" + spec.NodeID}},
		},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
		EndpointSpec: &swarm.EndpointSpec{Mode: swarm.ResolutionModeVIP, Ports: ports},
	}, nil
}

// bindMount turns "hostdir:containerdir[:options]" into a bind mount; "ro" is the one option
// a swarm bind mount takes from that form.
func bindMount(bind string) (mount.Mount, error) {
	parts := strings.Split(bind, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return mount.Mount{}, fmt.Errorf("bind %q is not hostdir:containerdir[:options]", bind)
	}
	m := mount.Mount{Type: mount.TypeBind, Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw", "":
			default:
				return mount.Mount{}, fmt.Errorf("bind %q: option %q has no swarm bind mount equivalent (only ro and rw)", bind, opt)
			}
		}
	}
	return m, nil
}

// swarmRestartPolicy is the engine's restart policy as a swarm task's. A swarm restarts a task
// that ends whatever the reason ("any") for both "always" and "unless-stopped": a stopped
// service is one scaled to zero, which no restart policy undoes.
func swarmRestartPolicy(p RestartPolicy) (*swarm.RestartPolicy, error) {
	switch p.Name {
	case "", "no":
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone}, nil
	case "always", "unless-stopped":
		return &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny}, nil
	case "on-failure":
		rp := &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionOnFailure}
		if p.MaxRetries > 0 {
			attempts := uint64(p.MaxRetries)
			rp.MaxAttempts = &attempts
		}
		return rp, nil
	}
	return nil, fmt.Errorf("restart policy %q has no swarm equivalent (no, always, unless-stopped, on-failure)", p.Name)
}
