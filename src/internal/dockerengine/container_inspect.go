package dockerengine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/moby/moby/client"
)

// InspectContainer reports the current state of a container, by id or name.
func (c *Client) InspectContainer(ctx context.Context, idOrName string) (Container, error) {
	res, err := c.api.ContainerInspect(ctx, idOrName, client.ContainerInspectOptions{})
	if err != nil {
		return Container{}, fmt.Errorf("inspecting container %s: %w", idOrName, err)
	}
	in := res.Container
	out := Container{
		ID:           in.ID,
		Name:         strings.TrimPrefix(in.Name, "/"),
		RestartCount: in.RestartCount,
	}
	if in.Config != nil {
		out.Image = in.Config.Image
		out.Labels = in.Config.Labels
	}
	if in.State != nil {
		out.State = string(in.State.Status)
		out.Running = in.State.Running
		out.Pid = in.State.Pid
		out.ExitCode = in.State.ExitCode
	}
	if in.NetworkSettings != nil {
		for port, bindings := range in.NetworkSettings.Ports {
			for _, b := range bindings {
				hostIP := ""
				if b.HostIP.IsValid() {
					hostIP = b.HostIP.String()
				}
				out.Ports = append(out.Ports, PortMapping{ContainerPort: port.String(), HostIP: hostIP, HostPort: b.HostPort})
			}
		}
		for _, name := range slices.Sorted(maps.Keys(in.NetworkSettings.Networks)) {
			if ep := in.NetworkSettings.Networks[name]; ep != nil && ep.IPAddress.IsValid() {
				out.IPAddress = ep.IPAddress.String()
				break
			}
		}
		sort.Slice(out.Ports, func(i, j int) bool { return out.Ports[i].ContainerPort < out.Ports[j].ContainerPort })
	}
	return out, nil
}
