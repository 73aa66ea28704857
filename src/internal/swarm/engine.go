// Package swarm runs the broker's containers as Docker Swarm services, for a broker whose
// docker VMs form one swarm. Each container the broker asks for is a one-replica service of
// the same name, labels and settings, pinned by a placement constraint to the node that holds
// its data and publishing its ports in host mode on that node; stopping it scales it to zero.
// The swarm's managers answer for services, tasks and nodes; the work on a container itself
// (exec, logs, files, events, images) goes to the engine of the node it runs on.
//
// Engine implements the broker's Engine interface, so that the broker's operations do not
// learn which of the two kinds of engine they run on.
package swarm

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Manager is what the Engine asks of a swarm manager's Engine API (dockerengine.Client).
type Manager interface {
	CreateService(ctx context.Context, spec dockerengine.ServiceSpec) (string, error)
	InspectService(ctx context.Context, idOrName string) (dockerengine.Service, error)
	ScaleService(ctx context.Context, idOrName string, replicas uint64) error
	RemoveService(ctx context.Context, idOrName string) error
	ListServices(ctx context.Context, labels map[string]string) ([]dockerengine.Service, error)
	ListTasks(ctx context.Context, serviceID string) ([]dockerengine.Task, error)
	ListNodes(ctx context.Context) ([]dockerengine.Node, error)
	InspectNode(ctx context.Context, id string) (dockerengine.Node, error)
}

// NodeEngine is what the Engine asks of one node's own Engine API (dockerengine.Client): the
// work on the containers and images of that node.
type NodeEngine interface {
	InspectImage(ctx context.Context, ref string) (dockerengine.Image, error)
	PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error
	CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error)
	RemoveContainer(ctx context.Context, id string) error
	InspectContainer(ctx context.Context, idOrName string) (dockerengine.Container, error)
	ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error)
	CreateExec(ctx context.Context, idOrName string, e dockerengine.Exec) (string, error)
	StartExec(ctx context.Context, execID string) (dockerengine.ExecResult, error)
	InspectExec(ctx context.Context, execID string) (dockerengine.ExecState, error)
	StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error)
	ReadFile(ctx context.Context, id, path string) ([]byte, error)
	ContainerLogs(ctx context.Context, id string, lines int) ([]byte, error)
	ContainerEvents(ctx context.Context, labels map[string]string, handle func(dockerengine.ContainerEvent)) error
}

// Node is how the Engine reaches one member of the swarm.
type Node struct {
	Engine NodeEngine
	// Address is where clients reach the ports the node publishes; empty takes the address
	// the node reaches the managers from.
	Address string
}

// Config is the swarm an Engine works on.
type Config struct {
	Manager Manager
	// Nodes are the members by swarm node id. A member missing here gets no new instance.
	Nodes map[string]Node
	// MaxContainersPerNode bounds the services on one node; 0 is unlimited.
	MaxContainersPerNode int
	// StopGrace is how long a task may take to stop before it is killed: the broker's
	// stop_grace. A swarm stops a task with the grace of its service, set at create.
	StopGrace time.Duration
}

// Engine is the broker's Engine over a swarm.
type Engine struct {
	cfg Config

	// mu guards pending: the placements decided whose service does not exist yet, which
	// count against their node's capacity so that concurrent provisions spread out.
	mu      sync.Mutex
	pending map[string]placement // by service name
}

// New returns the Engine of the swarm cfg describes.
func New(cfg Config) (*Engine, error) {
	if cfg.Manager == nil {
		return nil, fmt.Errorf("swarm: no manager to ask: set Config.Manager to a swarm manager's engine")
	}
	if len(cfg.Nodes) == 0 {
		return nil, fmt.Errorf("swarm: no nodes: set Config.Nodes to the engine of every swarm member, by node id")
	}
	if cfg.MaxContainersPerNode < 0 {
		return nil, fmt.Errorf("swarm: max containers per node is %d: must be 0 (unlimited) or more", cfg.MaxContainersPerNode)
	}
	return &Engine{cfg: cfg, pending: map[string]placement{}}, nil
}
