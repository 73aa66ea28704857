package osbclient

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// pending is an asynchronous instance operation the broker accepted (202).
type pending struct {
	kind       string // provision, update or deprovision: for the error
	instanceID string
	serviceID  string
	planID     string
	operation  string // the broker's operation token, sent back on every poll
}

// wait polls last_operation until the operation ends, as Cloud Controller does: at the
// broker's Retry-After, else at the client's poll interval, until ctx ends. A deprovision
// whose instance is gone (410) has succeeded.
func (c *Client) wait(ctx context.Context, op pending) error {
	query := ids(op.serviceID, op.planID)
	if op.operation != "" {
		query.Set("operation", op.operation)
	}
	for {
		var state osbapi.LastOperationResponse
		_, header, err := c.do(ctx, http.MethodGet, instancePath(op.instanceID, "")+"/last_operation", query, nil, &state)
		switch {
		case err != nil && op.kind == "deprovision" && IsGone(err):
			return nil
		case err != nil:
			return err
		case state.State == "succeeded":
			return nil
		case state.State == "failed":
			return &OperationFailedError{Operation: op.kind, InstanceID: op.instanceID, Description: state.Description}
		}
		delay := c.poll
		if seconds, err := strconv.Atoi(header.Get("Retry-After")); err == nil && seconds > 0 {
			delay = time.Duration(seconds) * time.Second
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
	}
}
