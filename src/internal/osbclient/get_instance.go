package osbclient

import (
	"context"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// GetInstance fetches an instance as the broker knows it: service, plan, maintenance_info.
func (c *Client) GetInstance(ctx context.Context, instanceID string) (osbapi.InstanceResponse, error) {
	var resp osbapi.InstanceResponse
	_, _, err := c.do(ctx, http.MethodGet, instancePath(instanceID, ""), nil, nil, &resp)
	return resp, err
}
