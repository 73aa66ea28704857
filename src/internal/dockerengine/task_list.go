package dockerengine

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
)

// Task is one attempt of the swarm to run a service's container on a node: a restart is a new
// task, so a service has a current one and the history of those before it.
type Task struct {
	ID        string
	ServiceID string
	NodeID    string
	CreatedAt time.Time
	// State is where the task is ("pending", "running", "failed", "shutdown", ...),
	// DesiredState where the swarm wants it ("running" or "shutdown").
	State        string
	DesiredState string
	// Message and Err say why it is in State ("started", "task: non-zero exit (1)").
	Message string
	Err     string
	// ContainerID is its container on its node, once the node created one.
	ContainerID string
	ExitCode    int
	// Ports are its host-mode ports as the node published them.
	Ports []PortMapping
}

// ListTasks lists the tasks of the service serviceID (of every service when it is empty),
// including those that ended.
func (c *Client) ListTasks(ctx context.Context, serviceID string) ([]Task, error) {
	filters := client.Filters{}
	if serviceID != "" {
		filters.Add("service", serviceID)
	}
	res, err := c.api.TaskList(ctx, client.TaskListOptions{Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("listing tasks: %w", err)
	}
	out := make([]Task, 0, len(res.Items))
	for _, t := range res.Items {
		task := Task{
			ID:           t.ID,
			ServiceID:    t.ServiceID,
			NodeID:       t.NodeID,
			CreatedAt:    t.CreatedAt,
			State:        string(t.Status.State),
			DesiredState: string(t.DesiredState),
			Message:      t.Status.Message,
			Err:          t.Status.Err,
			Ports:        publishedPorts(t.Status.PortStatus.Ports),
		}
		if cs := t.Status.ContainerStatus; cs != nil {
			task.ContainerID, task.ExitCode = cs.ContainerID, cs.ExitCode
		}
		out = append(out, task)
	}
	return out, nil
}
