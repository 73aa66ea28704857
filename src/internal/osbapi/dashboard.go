package osbapi

import (
	"net/http"

	"github.com/gorilla/mux"
)

// ServeDashboard serves the operator's dashboard (package dashboard), every path under prefix,
// to clients that present creds: a pair of the dashboard's own, so that those who only look
// need not hold the credentials that provision.
func ServeDashboard(dashboard http.Handler, prefix string, creds Credentials) Option {
	return func(h *handler) {
		h.dashboard, h.dashboardPrefix, h.dashboardCreds = dashboard, prefix, creds
	}
}

// routeDashboard serves GET (and HEAD) under the dashboard's prefix behind its credentials.
func (h *handler) routeDashboard(r *mux.Router) {
	r.PathPrefix(h.dashboardPrefix).Handler(authenticate(h.dashboardCreds, "the dashboard's username and password (the docker-broker job's dashboard.username and dashboard.password, else the broker's)")(h.dashboard)).Methods(http.MethodGet, http.MethodHead)
}

// ServeDeveloperDashboard serves the app developers' dashboard (package dashboard), every path
// under prefix, without the broker's authentication: its pages sign developers on through UAA
// themselves.
func ServeDeveloperDashboard(dashboard http.Handler, prefix string) Option {
	return func(h *handler) { h.developerDashboard, h.developerPrefix = dashboard, prefix }
}

// routeDeveloperDashboard serves GET (and HEAD) under the developer dashboard's prefix.
func (h *handler) routeDeveloperDashboard(r *mux.Router) {
	r.PathPrefix(h.developerPrefix).Handler(h.developerDashboard).Methods(http.MethodGet, http.MethodHead)
}
