package dockerengine

import (
	"context"
	"fmt"
	"strconv"

	"github.com/moby/moby/client"
)

// ContainerEvent is something that happened to a container: "die" (with its exit code),
// "oom", "start", "restart", "stop", "kill", ...
type ContainerEvent struct {
	Action      string
	ContainerID string
	Name        string
	Labels      map[string]string // the container's labels
	ExitCode    int               // for "die"
}

// ContainerEvents streams the events of the containers carrying every label of labels, calling
// handle for each, until ctx ends or the stream breaks (the engine restarted): it returns the
// reason, and the caller subscribes again.
func (c *Client) ContainerEvents(ctx context.Context, labels map[string]string, handle func(ContainerEvent)) error {
	filters := client.Filters{}
	filters.Add("type", "container")
	for k, v := range labels {
		filters.Add("label", k+"="+v)
	}
	res := c.api.Events(ctx, client.EventsListOptions{Filters: filters})
	for {
		select {
		case msg := <-res.Messages:
			ev := ContainerEvent{Action: string(msg.Action), ContainerID: msg.Actor.ID, Name: msg.Actor.Attributes["name"], Labels: map[string]string{}}
			for k, v := range msg.Actor.Attributes {
				ev.Labels[k] = v // the attributes are the labels, plus name, image and exitCode
			}
			if code, err := strconv.Atoi(msg.Actor.Attributes["exitCode"]); err == nil {
				ev.ExitCode = code
			}
			handle(ev)
		case err := <-res.Err:
			if err == nil {
				err = fmt.Errorf("the event stream ended")
			}
			return fmt.Errorf("following container events: %w", err)
		}
	}
}
