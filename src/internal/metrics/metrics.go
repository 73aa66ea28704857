// Package metrics is the broker's Prometheus exposition (client_golang; no other package
// imports it). What exists at a moment — instances, bindings, capacity, containers — is read
// from the broker when Prometheus scrapes (State), so that the figures are the state file's and
// the engine's, never a count kept beside them that could drift. What happens — operations,
// requests, image pulls that fail, container events — is counted as it happens, through the
// methods that package broker's Observer and package osbapi's RequestObserver declare.
//
// Every label value is bounded: catalog names, operation kinds and outcomes, route templates
// (never an id), status codes, image references of the catalog. No label holds a credential.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of the broker.
const namespace = "docker_broker"

// operationBuckets span a binding's exec (tens of milliseconds) to a provision that pulls an
// image and waits for a slow engine to become healthy (minutes).
var operationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// requestBuckets span a catalog request (microseconds) to a synchronous provision (sync_timeout,
// 50 s by default).
var requestBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Metrics is the broker's registry of metrics.
type Metrics struct {
	registry        *prometheus.Registry
	operations      *prometheus.HistogramVec
	requests        *prometheus.HistogramVec
	pullFailures    *prometheus.CounterVec
	containerEvents *prometheus.CounterVec
}

// New returns the registry with the event metrics, the Go runtime's and the process's. The
// broker's state joins it with CollectState.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		operations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "operation_duration_seconds",
			Help:    "Operations that ended (provision, update, deprovision, bind, unbind) by service, plan and outcome (succeeded, failed), with how long they took; _count is the number of operations.",
			Buckets: operationBuckets,
		}, []string{"kind", "service", "plan", "outcome"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "Requests the broker answered, by method, route template (\"unmatched\" for a path no route takes) and status code, with how long they took; _count is the number of requests.",
			Buckets: requestBuckets,
		}, []string{"method", "route", "code"}),
		pullFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "image_pull_failures_total",
			Help: "Pulls of a plan's image that failed, by image and by when the broker pulled it: fetch_images (in the background at start) or container_creation (a provision, update or recreate that found the image missing).",
		}, []string{"image", "during"}),
		containerEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "container_events_total",
			Help: "What happened to the broker's containers outside any operation, as the engine reported it: died, oom (killed for memory), restarted (by the engine's restart policy or by hand).",
		}, []string{"service", "plan", "event"}),
	}
	m.registry.MustRegister(m.operations, m.requests, m.pullFailures, m.containerEvents,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in Prometheus's exposition formats. A part of the state that
// cannot be read is left out of the scrape and logged, not a reason to answer nothing.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorLog: errorLog{log}, ErrorHandling: promhttp.ContinueOnError})
}

// errorLog is promhttp's error logger on the broker's log.
type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) {
	l.log.Error("metrics scrape incomplete", "error", fmt.Sprint(v...))
}

// OperationEnded counts an operation that ended: outcome is "succeeded" or "failed".
func (m *Metrics) OperationEnded(kind, service, plan, outcome string, took time.Duration) {
	m.operations.WithLabelValues(kind, service, plan, outcome).Observe(took.Seconds())
}

// ImagePullFailed counts a failed pull of image; during says what pulled it.
func (m *Metrics) ImagePullFailed(image, during string) {
	m.pullFailures.WithLabelValues(image, during).Inc()
}

// ContainerEvent counts an event of a container of plan that no operation caused.
func (m *Metrics) ContainerEvent(service, plan, event string) {
	m.containerEvents.WithLabelValues(service, plan, event).Inc()
}

// RequestServed counts a request the API answered. route is the route's template, never the
// path: ids would make a series per instance.
func (m *Metrics) RequestServed(method, route string, status int, took time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}
