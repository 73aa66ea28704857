package osbclient

import (
	"context"
	"net/http"
)

// Catalog is what the errands need of GET /v2/catalog: services and plans by id and name,
// whether they can be bound, and each plan's current maintenance_info.
type Catalog struct {
	Services []Service `json:"services"`
}

// Service is one offering of the catalog.
type Service struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Bindable bool   `json:"bindable"`
	Plans    []Plan `json:"plans"`
}

// Plan is one plan of a service.
type Plan struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Bindable        *bool            `json:"bindable,omitempty"` // overrides the service's
	MaintenanceInfo *MaintenanceInfo `json:"maintenance_info,omitempty"`
}

// IsBindable tells whether instances of plan p of service s can be bound.
func (s Service) IsBindable(p Plan) bool {
	if p.Bindable != nil {
		return *p.Bindable
	}
	return s.Bindable
}

// Catalog fetches the broker's catalog.
func (c *Client) Catalog(ctx context.Context) (Catalog, error) {
	var cat Catalog
	_, _, err := c.do(ctx, http.MethodGet, "/v2/catalog", nil, nil, &cat)
	return cat, err
}
