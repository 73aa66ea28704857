package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// CreateContainer creates (but does not start) a container from spec and returns its id.
func (c *Client) CreateContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, p := range spec.Ports {
		port, err := network.ParsePort(p.ContainerPort)
		if err != nil {
			return "", fmt.Errorf("container %s: port %q: %w", spec.Name, p.ContainerPort, err)
		}
		hostIP, err := parseHostIP(p.HostIP)
		if err != nil {
			return "", fmt.Errorf("container %s: port %q: %w", spec.Name, p.ContainerPort, err)
		}
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], network.PortBinding{HostIP: hostIP, HostPort: p.HostPort})
	}
	config := &container.Config{
		Image:        spec.Image,
		Hostname:     spec.Hostname,
		Cmd:          spec.Cmd,
		Entrypoint:   spec.Entrypoint,
		Env:          spec.Env,
		WorkingDir:   spec.WorkingDir,
		User:         spec.User,
		Labels:       spec.Labels,
		ExposedPorts: exposed,
	}
	var ulimits []*container.Ulimit
	for _, u := range spec.Ulimits {
		ulimits = append(ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	hostConfig := &container.HostConfig{
		Binds:        spec.Binds,
		PortBindings: bindings,
		RestartPolicy: container.RestartPolicy{
			Name:              container.RestartPolicyMode(spec.RestartPolicy.Name),
			MaximumRetryCount: spec.RestartPolicy.MaxRetries,
		},
		Privileged:  spec.Privileged,
		CapAdd:      spec.CapAdd,
		CapDrop:     spec.CapDrop,
		Sysctls:     spec.Sysctls,
		ShmSize:     spec.ShmSize,
		NetworkMode: container.NetworkMode(spec.NetworkMode),
		Resources: container.Resources{
			Memory:     spec.Memory,
			MemorySwap: spec.MemorySwap,
			CPUShares:  spec.CPUShares,
			Ulimits:    ulimits,
		},
	}
	res, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       spec.Name,
		Config:     config,
		HostConfig: hostConfig,
	})
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", spec.Name, err)
	}
	return res.ID, nil
}
