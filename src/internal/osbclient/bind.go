package osbclient

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Bind creates binding req.BindingID of instance req.InstanceID and returns its credentials.
// The broker binds synchronously, so the request does not offer an asynchronous answer.
func (c *Client) Bind(ctx context.Context, req osbapi.BindRequest) (json.RawMessage, error) {
	var resp osbapi.BindResponse
	if _, _, err := c.do(ctx, http.MethodPut, instancePath(req.InstanceID, req.BindingID), nil, req, &resp); err != nil {
		return nil, err
	}
	return resp.Credentials, nil
}
