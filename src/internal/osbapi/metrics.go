package osbapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// GET /metrics serves Prometheus's scrapes (at the path Prometheus expects, not under /admin/),
// behind credentials of its own, which may be the broker's; and every request the API answers
// is reported to a RequestObserver, by route template.

// RequestObserver learns of every request the API answered (package metrics counts them).
// route is the matched route's template ("/v2/service_instances/{instance_id}"), never the
// path with its ids, or "unmatched".
type RequestObserver interface {
	RequestServed(method, route string, status int, took time.Duration)
}

// Option adds to what NewHandler serves.
type Option func(*handler)

// ObserveRequests tells o of every request.
func ObserveRequests(o RequestObserver) Option {
	return func(h *handler) { h.observer = o }
}

// ServeMetrics serves metrics (Prometheus's scrape endpoint) at GET /metrics to clients that
// present creds, which may be the broker's own or a pair for Prometheus alone.
func ServeMetrics(metrics http.Handler, creds Credentials) Option {
	return func(h *handler) { h.metrics, h.metricsCreds = metrics, creds }
}

// NewMetricsHandler serves metrics alone, at GET /metrics to clients that present creds: the
// handler of a listener of its own for Prometheus.
func NewMetricsHandler(metrics http.Handler, creds Credentials, log *slog.Logger) http.Handler {
	h := &handler{log: log, metrics: metrics, metricsCreds: creds}
	r := h.newRouter()
	h.routeMetrics(r)
	h.routeUnmatched(r, creds)
	return r
}

// routeMetrics serves GET /metrics behind the metrics credentials.
func (h *handler) routeMetrics(r *mux.Router) {
	r.Handle("/metrics", authenticate(h.metricsCreds, "the metrics username and password (the docker-broker job's metrics.username and metrics.password, else the broker's)")(h.metrics)).Methods(http.MethodGet)
}

// observedRoute is the method and route a request is counted under: the matched route's
// template, or "unmatched" with the method only if it is a standard one, so that no client
// can make a series per path or per made-up method.
func observedRoute(r *http.Request) (method, route string) {
	if current := mux.CurrentRoute(r); current != nil {
		if template, err := current.GetPathTemplate(); err == nil {
			return r.Method, template
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return r.Method, "unmatched"
	}
	return "OTHER", "unmatched"
}
