package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/client"
)

// WaitContainer waits until container id is not running (at once when it has exited already)
// and returns its exit code.
func (c *Client) WaitContainer(ctx context.Context, id string) (int, error) {
	wait := c.api.ContainerWait(ctx, id, client.ContainerWaitOptions{})
	select {
	case res := <-wait.Result:
		if res.Error != nil && res.Error.Message != "" {
			return 0, fmt.Errorf("waiting for container %s: %s", id, res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-wait.Error:
		return 0, fmt.Errorf("waiting for container %s: %w", id, err)
	}
}
