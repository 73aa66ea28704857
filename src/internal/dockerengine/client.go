// Package dockerengine is the broker's and the supervisor's only door to the Docker Engine API.
// It is the one package that imports the Docker SDK; everything else speaks in the small types
// declared here (ContainerSpec, Container, Progress), so the SDK can change under us in one place.
package dockerengine

import (
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// Client talks to one Docker Engine over its API socket.
type Client struct {
	api *client.Client
}

// New returns a client for the engine listening on host: a unix socket path
// ("/var/vcap/sys/run/docker/docker.sock") or a URL ("unix:///...", "tcp://host:port").
// The API version is negotiated on the first call, so the same binary works with
// dockerd 20.10 (API 1.41) and with current engines.
func New(host string) (*Client, error) {
	if !strings.Contains(host, "://") {
		host = "unix://" + host
	}
	api, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	return &Client{api: api}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error { return c.api.Close() }
