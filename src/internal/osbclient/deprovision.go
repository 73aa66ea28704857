package osbclient

import (
	"context"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Deprovision deletes an instance and waits until it is gone. An instance the broker does not
// know (410 Gone) is gone already: deleting is idempotent for the errands that clean up.
func (c *Client) Deprovision(ctx context.Context, instanceID, serviceID, planID string) error {
	query := ids(serviceID, planID)
	query.Set("accepts_incomplete", "true")
	var resp osbapi.OperationResponse
	status, _, err := c.do(ctx, http.MethodDelete, instancePath(instanceID, ""), query, nil, &resp)
	switch {
	case IsGone(err):
		return nil
	case err != nil || status != http.StatusAccepted:
		return err
	}
	return c.wait(ctx, pending{kind: "deprovision", instanceID: instanceID, serviceID: serviceID, planID: planID, operation: resp.Operation})
}
