package osbclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Provision creates instance req.InstanceID and waits until it is ready (or failed). The
// request accepts an asynchronous answer, as every platform's does today.
func (c *Client) Provision(ctx context.Context, req osbapi.ProvisionRequest) error {
	var resp osbapi.ProvisionResponse
	status, _, err := c.do(ctx, http.MethodPut, instancePath(req.InstanceID, ""), acceptsIncomplete(), req, &resp)
	if err != nil || status != http.StatusAccepted {
		return err
	}
	return c.wait(ctx, pending{kind: "provision", instanceID: req.InstanceID, serviceID: req.ServiceID, planID: req.PlanID, operation: resp.Operation})
}

func acceptsIncomplete() url.Values { return url.Values{"accepts_incomplete": {"true"}} }
