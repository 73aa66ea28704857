package osbclient

import (
	"context"
	"net/http"
)

// Unbind deletes a binding. A binding the broker does not know (410 Gone) is gone already.
func (c *Client) Unbind(ctx context.Context, instanceID, bindingID, serviceID, planID string) error {
	_, _, err := c.do(ctx, http.MethodDelete, instancePath(instanceID, bindingID), ids(serviceID, planID), nil, nil)
	if IsGone(err) {
		return nil
	}
	return err
}
