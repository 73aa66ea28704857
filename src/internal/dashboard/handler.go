package dashboard

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

//go:embed assets
var assets embed.FS

// Paths the dashboard serves; the broker routes everything under Prefix to Handler.
const (
	Prefix       = "/dashboard"
	instancePath = Prefix + "/instances/"
)

const (
	// logLines is how much of a container's log the instance page shows.
	logLines = 100
	// recentOperations is how many of the latest operations the fleet page lists.
	recentOperations = 10
	// refreshSeconds is how often a page reloads itself unless the reader paused it.
	refreshSeconds = 10
)

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"age":        age,
	"nearlyFull": nearlyFull,
	// slug makes a state a CSS class name: "node down" is state-node-down.
	"slug": func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	"ops": func(now time.Time, instances []Instance, empty string) operationList {
		return operationList{Now: now, Instances: instances, Empty: empty}
	},
	"instanceURL": func(id string) string {
		return instancePath + url.PathEscape(id)
	},
}).ParseFS(assets, "assets/*.html"))

// Handler serves the pages at Prefix. Authentication is the caller's (osbapi.ServeDashboard).
func Handler(src Source, log *slog.Logger) http.Handler {
	d := &dashboard{src: src, log: log, clock: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix, d.fleet)
	mux.HandleFunc("GET "+Prefix+"/{$}", toFleet)
	mux.HandleFunc("GET "+instancePath+"{id}", d.instance)
	mux.Handle("GET "+Prefix+"/style.css", http.StripPrefix(Prefix, http.FileServerFS(styleSheet{assets})))
	return secureHeaders(mux)
}

// toFleet sends a request for the prefix with a trailing slash to the fleet page, with its
// query (its filters).
func toFleet(w http.ResponseWriter, r *http.Request) {
	target := Prefix
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
}

// styleSheet serves assets/style.css alone, as /style.css.
type styleSheet struct{ embed.FS }

func (s styleSheet) Open(name string) (fs.File, error) {
	if name != "style.css" {
		return nil, fs.ErrNotExist
	}
	return s.FS.Open("assets/style.css")
}

type dashboard struct {
	src   Source
	log   *slog.Logger
	clock func() time.Time
}

// secureHeaders forbids what the pages never need — scripts, frames, anything from
// elsewhere — so that a value shown on a page (an instance name chosen by a developer) can do
// nothing but be read, and keeps the pages out of caches.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// view is what every page has: when it was made and how it refreshes.
type view struct {
	Title string
	// Base is the prefix the pages are under (their style sheet's); Home links to the fleet,
	// "" on the developer's pages, which have none.
	Base, Home string
	Now        time.Time
	// Refresh is whether the page reloads itself; Toggle is the page's URL with it flipped.
	Refresh        bool
	RefreshSeconds int
	Toggle         string
}

func (d *dashboard) view(r *http.Request, title string) view {
	v := newView(r, d.clock, title)
	v.Base, v.Home = Prefix, Prefix
	return v
}

// newView is the view of the page r asks for, at clock's time.
func newView(r *http.Request, clock func() time.Time, title string) view {
	q := r.URL.Query()
	refresh := q.Get("refresh") != "off"
	if refresh {
		q.Set("refresh", "off")
	} else {
		q.Del("refresh")
	}
	toggle := r.URL.Path
	if len(q) > 0 {
		toggle += "?" + q.Encode()
	}
	return view{Title: title, Now: clock().UTC(), Refresh: refresh, RefreshSeconds: refreshSeconds, Toggle: toggle}
}

// fleetPage is the model of the fleet page.
type fleetPage struct {
	view
	Filter          filter
	Services, Plans []string
	States          []string
	// Nodes are the machines' names for the filter; ShowNodes whether the table has a node
	// column: only on an engine of several machines.
	Nodes          []string
	ShowNodes      bool
	StateCounts    []stateCount
	Total          int
	BrokerCapacity capacityBar
	PlanCapacity   []capacityBar
	NodeCapacity   []nodeCapacity
	// NodesErr says why there are no machines to show, when the engine did not list them.
	NodesErr         string
	Instances        []Instance // those the filter lets through
	Recent, Failures []Instance
	Orphans          osbapi.Orphans
	OrphansErr       string
	EngineErr        string
}

// operationList is a list of instances by their last operation, with what to say when empty.
type operationList struct {
	Now       time.Time
	Instances []Instance
	Empty     string
}

type filter struct{ Service, Plan, State, Node string }

func (f filter) lets(i Instance) bool {
	return (f.Service == "" || f.Service == i.Service) && (f.Plan == "" || f.Plan == i.Plan) && (f.State == "" || f.State == i.State) &&
		(f.Node == "" || f.Node == i.Node)
}

// Any tells whether the filter leaves out anything.
func (f filter) Any() bool { return f != filter{} }

type stateCount struct {
	State string
	Count int
}

// capacityBar is a use against a limit (0: none), in Unit when it is not a count.
type capacityBar struct {
	Label       string
	Used, Limit int
	Unit        string
}

// nodeCapacity is one machine with its bars: its instances against the per-node maximum, the
// memory their plans reserve against its own.
type nodeCapacity struct {
	Name, Address, State string
	Up                   bool
	Instances, Memory    capacityBar
}

// mib is a number of bytes in MiB, the unit of the memory bars.
func mib(bytes int64) int { return int(bytes >> 20) }

func (d *dashboard) fleet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	snap, err := d.src.MetricsState(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	all, err := d.src.DashboardInstances(ctx)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	page := fleetPage{
		view:           d.view(r, "Fleet"),
		Filter:         filter{Service: q.Get("service"), Plan: q.Get("plan"), State: q.Get("state"), Node: q.Get("node")},
		States:         snap.States(),
		Total:          len(snap.Instances),
		BrokerCapacity: capacityBar{Label: "broker (all plans)", Used: snap.Capacity.Used, Limit: snap.Capacity.Limit},
	}
	if snap.EngineErr != nil {
		page.EngineErr = snap.EngineErr.Error()
	}
	if snap.NodesErr != nil {
		page.NodesErr = snap.NodesErr.Error()
	}
	for _, n := range snap.Nodes {
		page.Nodes = append(page.Nodes, n.Name)
		page.NodeCapacity = append(page.NodeCapacity, nodeCapacity{
			Name: n.Name, Address: n.Address, State: n.State, Up: n.Up,
			Instances: capacityBar{Label: "instances", Used: n.Instances.Used, Limit: n.Instances.Limit},
			Memory:    capacityBar{Label: "memory reserved", Used: mib(n.MemoryReserved), Limit: mib(n.Memory), Unit: "MiB"},
		})
	}
	counts := map[string]int{}
	for _, inst := range snap.Instances {
		counts[inst.State]++
	}
	for _, state := range page.States {
		page.StateCounts = append(page.StateCounts, stateCount{State: state, Count: counts[state]})
	}
	for _, p := range snap.Plans {
		page.PlanCapacity = append(page.PlanCapacity, capacityBar{Label: p.Service + " / " + p.Plan, Used: p.Capacity.Used, Limit: p.Capacity.Limit})
		page.Services = append(page.Services, p.Service)
		page.Plans = append(page.Plans, p.Plan)
	}
	page.Services, page.Plans = sortedUnique(page.Services), sortedUnique(page.Plans)
	page.ShowNodes = len(page.Nodes) > 0 || page.NodesErr != ""
	for _, inst := range all {
		page.ShowNodes = page.ShowNodes || inst.Node != ""
		if page.Filter.lets(inst) {
			page.Instances = append(page.Instances, inst)
		}
		if inst.Operation.State == "failed" {
			page.Failures = append(page.Failures, inst)
		}
	}
	page.Recent = slices.Clone(all)
	slices.SortFunc(page.Recent, func(a, b Instance) int { return b.Operation.StartedAt.Compare(a.Operation.StartedAt) })
	page.Recent = page.Recent[:min(len(page.Recent), recentOperations)]
	if page.Orphans, err = d.src.Orphans(ctx); err != nil {
		d.log.Error("dashboard: comparing records and engine for the orphans report failed", "error", err.Error())
		page.OrphansErr = "the comparison failed; the broker's log says why"
	}
	d.render(w, r, "fleet.html", page)
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// instancePage is the model of the instance page.
type instancePage struct {
	view
	InstanceDetail
}

func (d *dashboard) instance(w http.ResponseWriter, r *http.Request) {
	detail, found, err := d.src.DashboardInstance(r.Context(), r.PathValue("id"), logLines)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if !found {
		http.Error(w, "no such instance: it may have been deleted; the fleet page lists those there are", http.StatusNotFound)
		return
	}
	d.render(w, r, "instance.html", instancePage{view: d.view(r, detail.ID), InstanceDetail: detail})
}

func (d *dashboard) render(w http.ResponseWriter, r *http.Request, name string, model any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, model); err != nil {
		d.log.Error("dashboard: rendering failed", "path", r.URL.Path, "error", err.Error())
	}
}

// fail answers 500 and logs why: the details may name paths and engine internals.
func (d *dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.log.Error("dashboard: reading the fleet failed", "path", r.URL.Path, "error", err.Error())
	http.Error(w, "the broker could not read its fleet; its operator finds the details in the broker's log", http.StatusInternalServerError)
}

// age is how long ago t was, to the unit that matters ("3d", "5h", "12m", "40s").
func age(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d >= 48*time.Hour:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d >= 2*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d >= 2*time.Minute:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(max(d, 0)/time.Second)) + "s"
}

// nearlyFull is the use from which a capacity bar shows as nearly full: 80% of the limit.
func nearlyFull(b capacityBar) float64 {
	return float64(b.Limit) * 0.8
}
