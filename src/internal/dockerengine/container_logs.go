package dockerengine

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ContainerLogs returns the last lines of a container's output, stdout and stderr merged.
// The caller redacts it before it shows it to anyone: a service may print its secrets.
func (c *Client) ContainerLogs(ctx context.Context, id string, lines int) ([]byte, error) {
	res, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(lines)})
	if err != nil {
		return nil, fmt.Errorf("reading the log of container %s: %w", id, err)
	}
	defer res.Close()
	// The broker's containers have no TTY, so the stream is multiplexed.
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, res); err != nil {
		return nil, fmt.Errorf("reading the log of container %s: %w", id, err)
	}
	return out.Bytes(), nil
}
