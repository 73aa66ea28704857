package dockerengine

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/client"
)

// Service is what the swarm manager reports about a service the broker created
// (CreateService).
type Service struct {
	ID   string
	Name string
	// Image is the image reference it was created with, even when its task runs the image by
	// id (ServiceSpec.ImageID).
	Image  string
	Labels map[string]string
	// NodeID is the node its placement constraint pins it to ("" when it has none).
	NodeID   string
	Replicas uint64
	// RestartCondition is when the swarm replaces its task: "none", "on-failure" or "any".
	RestartCondition  string
	MemoryReservation int64
	// Ports are its published ports; HostIP is empty, a swarm publishes on all the node's
	// addresses.
	Ports []PortMapping
}

// InspectService reports the service idOrName. A missing service gives an error for which
// IsNotFound is true.
func (c *Client) InspectService(ctx context.Context, idOrName string) (Service, error) {
	res, err := c.api.ServiceInspect(ctx, idOrName, client.ServiceInspectOptions{})
	if err != nil {
		return Service{}, fmt.Errorf("inspecting service %s: %w", idOrName, err)
	}
	return service(res.Service), nil
}

func service(in swarm.Service) Service {
	out := Service{ID: in.ID, Name: in.Spec.Name, Labels: in.Spec.Labels}
	task := in.Spec.TaskTemplate
	if task.ContainerSpec != nil {
		out.Image = task.ContainerSpec.Image
	}
	if ref, ok := in.Spec.Labels[imageLabel]; ok {
		out.Image = ref
		out.Labels = maps.Clone(in.Spec.Labels)
		delete(out.Labels, imageLabel)
	}
	if task.Placement != nil {
		for _, c := range task.Placement.Constraints {
			if id, ok := strings.CutPrefix(strings.ReplaceAll(c, " ", ""), "node.id=="); ok {
				out.NodeID = id
			}
		}
	}
	if in.Spec.Mode.Replicated != nil && in.Spec.Mode.Replicated.Replicas != nil {
		out.Replicas = *in.Spec.Mode.Replicated.Replicas
	}
	if task.RestartPolicy != nil {
		out.RestartCondition = string(task.RestartPolicy.Condition)
	}
	if task.Resources != nil && task.Resources.Reservations != nil {
		out.MemoryReservation = task.Resources.Reservations.MemoryBytes
	}
	if in.Spec.EndpointSpec != nil {
		out.Ports = publishedPorts(in.Spec.EndpointSpec.Ports)
	}
	return out
}

func publishedPorts(ports []swarm.PortConfig) []PortMapping {
	var out []PortMapping
	for _, p := range ports {
		out = append(out, PortMapping{
			ContainerPort: fmt.Sprintf("%d/%s", p.TargetPort, p.Protocol),
			HostPort:      fmt.Sprint(p.PublishedPort),
		})
	}
	return out
}
