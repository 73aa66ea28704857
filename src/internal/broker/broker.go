// Package broker is what the Open Service Broker operations mean here: an instance is one
// Docker container with its own persistent directories and host ports, credentials come from
// crypto/rand and are kept in the store, and every change of an instance is an operation that
// is recorded before it starts, so that a broker restart resumes or fails it, never forgets it.
//
// Concurrency: every request that changes something is admitted under one mutex (quotas and
// port allocation are exact, and two operations never start on one instance); the slow work —
// pulling, creating, waiting for health — runs outside it, one goroutine per operation.
package broker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/localdisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Engine is what the broker asks of the Docker Engine.
type Engine interface {
	InspectImage(ctx context.Context, ref string) (dockerengine.Image, error)
	PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error
	CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	RemoveContainer(ctx context.Context, id string) error
	InspectContainer(ctx context.Context, idOrName string) (dockerengine.Container, error)
	ListContainers(ctx context.Context, labels map[string]string) ([]dockerengine.Container, error)
	CreateExec(ctx context.Context, idOrName string, e dockerengine.Exec) (string, error)
	StartExec(ctx context.Context, execID string) (dockerengine.ExecResult, error)
	InspectExec(ctx context.Context, execID string) (dockerengine.ExecState, error)
	StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (dockerengine.ExecResult, error)
	ReadFile(ctx context.Context, id, path string) ([]byte, error)
	ContainerLogs(ctx context.Context, id string, lines int) ([]byte, error)
	ContainerEvents(ctx context.Context, labels map[string]string, handle func(dockerengine.ContainerEvent)) error
}

// Store is what the broker keeps on disk (see package store).
type Store interface {
	Instance(id string) (store.Instance, bool, error)
	Instances() ([]store.Instance, error)
	PutInstance(inst store.Instance) error
	DeleteInstance(id string, tomb *store.Tombstone) error
	Tombstone(id string) (store.Tombstone, bool, error)
	PruneTombstones(cutoff time.Time) (int, error)
	Binding(instanceID, bindingID string) (store.Binding, bool, error)
	Bindings(instanceID string) ([]store.Binding, error)
	PutBinding(b store.Binding) error
	DeleteBinding(instanceID, bindingID string) error
	PlanMaintenance(planID string) (store.PlanMaintenance, bool, error)
	PutPlanMaintenance(pm store.PlanMaintenance) error
	BindingCounts() (map[string]int, error)
	WriteSnapshot(w io.Writer) (int64, error)
	ReplaceRecords(snapshot io.Reader) ([]store.Instance, error)
}

// Observer is told what happens in the broker, for counting (package metrics implements it).
// Services and plans are named by their catalog names.
type Observer interface {
	// OperationEnded: kind is provision, update, deprovision, bind or unbind; outcome is
	// store.Succeeded or store.Failed.
	OperationEnded(kind, service, plan, outcome string, took time.Duration)
	// ImagePullFailed: during is pullDuringFetch or pullDuringCreation.
	ImagePullFailed(image, during string)
	// ContainerEvent: event is died, oom or restarted; only events no operation caused.
	ContainerEvent(service, plan, event string)
}

// noObserver is the Observer of a broker that counts nothing.
type noObserver struct{}

func (noObserver) OperationEnded(string, string, string, string, time.Duration) {}
func (noObserver) ImagePullFailed(string, string)                               {}
func (noObserver) ContainerEvent(string, string, string)                        {}

// Clock tells the time; tests move it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now().UTC() }

// Config is how the operator set the broker up.
type Config struct {
	Catalog *catalog.Catalog
	// Name tells this broker's containers from any other on the engine (label value).
	Name string
	// ExternalHost is the host name or IP put into credentials: where apps reach the containers.
	ExternalHost string
	// BindIP is the host address published ports listen on.
	BindIP string
	// PortRange is the inclusive range host ports are allocated from.
	PortRange [2]int
	// DataDir holds one directory per instance (cf-<id>) with its persistent volumes, on the
	// broker's own disk, unless Disk is set.
	DataDir string
	// RetentionDir receives a deleted instance's directory on the broker's own disk, unless
	// Disk is set.
	RetentionDir string
	// Retention, when positive, is how long a deleted instance's directory is kept before it
	// is purged.
	Retention time.Duration
	// Disk is where instances' directories are; by default the broker's own disk at DataDir
	// and RetentionDir (package localdisk).
	Disk Disk
	// MaxContainers bounds the instances of this broker; 0 is unlimited.
	MaxContainers int
	// SyncTimeout is how long a request without accepts_incomplete may wait for its operation.
	SyncTimeout time.Duration
	// StopGrace is how long a container may take to stop before it is killed.
	StopGrace time.Duration
	// TombstoneWindow is how long last_operation answers "succeeded" for a deleted instance;
	// after that it answers 410 Gone.
	TombstoneWindow time.Duration
	// FetchImages pulls every plan's image in the background at start.
	FetchImages bool
	// HousekeepingInterval is how often the broker removes what failed provisions left and
	// purges tombstones and retained data; default one minute.
	HousekeepingInterval time.Duration
	// Observer, when set, is told of operations, failed image pulls and container events.
	Observer Observer
	// DeveloperDashboard is the URL the developer dashboard's pages are under
	// (https://broker.example.com:8080/manage); instances of an offering with a
	// dashboard_client get theirs as dashboard_url. Empty: no dashboard_url.
	DeveloperDashboard string
}

// Broker implements the OSB operations (osbapi.Broker).
type Broker struct {
	cfg    Config
	engine Engine
	disk   Disk
	store  Store
	clock  Clock
	log    *slog.Logger

	// mu admits changes: quota counts, port allocation and the running map are read and
	// written under it.
	mu      sync.Mutex
	running map[string]*operation // instance id → the operation working on it
	// bindingWork holds the bindings whose user a command is creating or dropping, with what
	// it does; their instance is neither updated nor deleted meanwhile.
	bindingWork map[bindingKey]string
	// locked refuses every change while the operator backs the broker up or restores it.
	locked bool
	wg     sync.WaitGroup // every operation goroutine, binding command and the image fetch
	// daemons are the goroutines that run until Shutdown: housekeeping, the event follower.
	daemons sync.WaitGroup

	catalogJSON json.RawMessage

	// background is the context of work that is no request's: image fetching, housekeeping,
	// following the engine's events. Shutdown ends it.
	background     context.Context
	stopBackground context.CancelFunc

	reportMu sync.Mutex
	report   Reconciliation
}

// New returns a broker. Call Start before serving requests.
func New(cfg Config, engine Engine, st Store, log *slog.Logger) (*Broker, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.Disk == nil {
		cfg.Disk = localdisk.New(cfg.DataDir, cfg.RetentionDir)
	}
	published, err := publishMaintenance(cfg.Catalog, st, log)
	if err != nil {
		return nil, err
	}
	cfg.Catalog = published
	catalogJSON, err := cfg.Catalog.MarshalOSB()
	if err != nil {
		return nil, err
	}
	background, stop := context.WithCancel(context.Background())
	return &Broker{
		cfg: cfg, engine: engine, disk: cfg.Disk, store: st, clock: systemClock{}, log: log,
		running: map[string]*operation{}, bindingWork: map[bindingKey]string{}, catalogJSON: catalogJSON,
		background: background, stopBackground: stop,
	}, nil
}

// SetClock replaces the clock (tests).
func (b *Broker) SetClock(c Clock) { b.clock = c }

// Wait waits for every running operation, binding command and the image fetch to end.
func (b *Broker) Wait() { b.wg.Wait() }

// Shutdown cancels every running operation and waits for them. Their records stay "in
// progress", so the next start resumes them.
func (b *Broker) Shutdown() {
	b.stopBackground()
	b.mu.Lock()
	for _, op := range b.running {
		op.cancel(errShutdown)
	}
	b.mu.Unlock()
	b.wg.Wait()
	b.daemons.Wait()
}

// Catalog is GET /v2/catalog.
func (b *Broker) Catalog(context.Context) (json.RawMessage, error) {
	return b.catalogJSON, nil
}
