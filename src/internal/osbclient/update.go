package osbclient

import (
	"context"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Update changes instance req.InstanceID (its plan, parameters or maintenance_info) and waits
// until the change is done (or failed).
func (c *Client) Update(ctx context.Context, req osbapi.UpdateRequest) error {
	var resp osbapi.OperationResponse
	status, _, err := c.do(ctx, http.MethodPatch, instancePath(req.InstanceID, ""), acceptsIncomplete(), req, &resp)
	if err != nil || status != http.StatusAccepted {
		return err
	}
	plan := req.PlanID
	if plan == "" && req.PreviousValues != nil {
		plan = req.PreviousValues.PlanID
	}
	return c.wait(ctx, pending{kind: "update", instanceID: req.InstanceID, serviceID: req.ServiceID, planID: plan, operation: resp.Operation})
}
