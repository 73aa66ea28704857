package osbclient

import (
	"context"
	"net/http"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// Orphans asks the broker's operator endpoint GET /admin/orphans what its records and the
// engine disagree on now.
func (c *Client) Orphans(ctx context.Context) (osbapi.Orphans, error) {
	var orphans osbapi.Orphans
	_, _, err := c.do(ctx, http.MethodGet, "/admin/orphans", nil, nil, &orphans)
	return orphans, err
}
