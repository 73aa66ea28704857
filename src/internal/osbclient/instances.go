package osbclient

import (
	"context"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Instances lists every instance of the broker through its operator endpoint GET
// /admin/instances (not part of OSB: a platform keeps its own list; the errands that work
// without one ask the broker).
func (c *Client) Instances(ctx context.Context) ([]osbapi.AdminInstance, error) {
	var resp osbapi.AdminInstances
	_, _, err := c.do(ctx, http.MethodGet, "/admin/instances", nil, nil, &resp)
	return resp.Instances, err
}
