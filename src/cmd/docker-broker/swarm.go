package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/nodedisk"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarm"
)

// onSwarm is the broker's engine and disk on a swarm: the instances are services of the swarm
// whose manager is the broker's own engine, and their directories are on their nodes' disks.
type onSwarm struct {
	engine  *swarm.Engine
	disk    *nodedisk.Disk
	clients []*dockerengine.Client // the nodes' own engines, closed with Close

	// stopBackground ends the work connectSwarm starts in the background (warmDiskHelpers,
	// restartStranded), which background counts.
	stopBackground context.CancelFunc
	background     sync.WaitGroup
}

// strandedCheck is how often the broker looks for instances of a node that returned whose
// task the swarm left waiting (swarm.Engine.RestartStranded).
const strandedCheck = 10 * time.Second

// connectSwarm finds every member of the manager's swarm among the configured nodes, by the
// address it joined with, and checks that the catalog's plans can run as swarm services.
func connectSwarm(ctx context.Context, cfg Config, manager *dockerengine.Client, st *store.Store, log *slog.Logger) (*onSwarm, error) {
	own, err := manager.LocalSwarm(ctx)
	if err != nil {
		return nil, err
	}
	if !own.Manager {
		return nil, fmt.Errorf("swarm.enabled: the engine at %s is not a swarm manager (swarm state %q %s): the broker runs on the bootstrap docker VM, a manager once the docker job has formed the swarm", cfg.DockerSocket, own.State, own.Error)
	}
	version, err := manager.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := swarm.CheckCatalog(cfg.catalog, version); err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	members, err := manager.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	// A node joined with its VM's IP; the link may name the VMs by DNS name.
	configured := map[string]string{} // IP → host:port of its Engine API
	for _, address := range cfg.Swarm.Nodes {
		host, _, _ := net.SplitHostPort(address)
		ips, err := net.DefaultResolver.LookupHost(ctx, host)
		if err != nil {
			log.Warn("a docker VM of swarm.nodes has no address: no instance goes there", "node", address, "error", err.Error())
			continue
		}
		for _, ip := range ips {
			configured[ip] = address
		}
	}
	s := &onSwarm{}
	nodes := map[string]swarm.Node{}
	engines := map[string]nodedisk.Engine{}
	for _, m := range members {
		address, ok := configured[m.Addr]
		if !ok {
			log.Warn("a swarm node is not among swarm.nodes: no instance goes there", "node", m.ID, "hostname", m.Hostname, "address", m.Addr)
			continue
		}
		client, err := dockerengine.NewTLS(address, dockerengine.TLSFiles{CACert: cfg.Swarm.TLS.CACert, Cert: cfg.Swarm.TLS.Cert, Key: cfg.Swarm.TLS.Key, ServerName: cfg.Swarm.TLS.ServerName})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("swarm.tls: %w", err)
		}
		s.clients = append(s.clients, client)
		nodes[m.ID] = swarm.Node{Engine: client, Address: m.Addr}
		engines[m.ID] = client
		delete(configured, m.Addr)
	}
	for ip, address := range configured {
		log.Warn("a docker VM of swarm.nodes is not in the swarm (yet): no instance goes there until the broker restarts", "node", address, "address", ip)
	}
	if s.engine, err = swarm.New(swarm.Config{Manager: manager, Nodes: nodes, MaxContainersPerNode: cfg.Swarm.MaxContainersPerNode, StopGrace: cfg.StopGrace.D()}); err != nil {
		s.Close()
		return nil, err
	}
	s.disk, err = nodedisk.New(nodedisk.Config{
		Root: cfg.DataDir, Retention: retentionDir(cfg), Image: cfg.Swarm.DiskHelperImage, KeepHelpers: true,
		EngineOf: func(_ context.Context, instanceID string) (nodedisk.Engine, error) {
			inst, found, err := st.Instance(instanceID)
			switch {
			case err != nil:
				return nil, err
			case !found || inst.Node == "":
				return nil, fmt.Errorf("instance %s: %w", instanceID, nodedisk.ErrNotPlaced)
			}
			engine, ok := engines[inst.Node]
			if !ok {
				return nil, fmt.Errorf("instance %s is on swarm node %s, which the broker does not reach (not in swarm.nodes, or not in the swarm when the broker started)", instanceID, inst.Node)
			}
			return engine, nil
		},
		Nodes: func(ctx context.Context) ([]nodedisk.Engine, error) {
			ready, err := s.engine.ReadyNodes(ctx)
			up := make([]nodedisk.Engine, len(ready))
			for i, id := range ready {
				up[i] = engines[id]
			}
			return up, err
		},
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("swarm: %w", err)
	}
	swept, err := s.disk.Sweep(ctx)
	if err != nil {
		log.Warn("disk helpers a killed broker left could not all be removed", "removed", swept, "error", err.Error())
	}
	log.Info("on a swarm", "nodes", len(nodes), "members", len(members), "api_version", version, "disk_helpers_swept", swept)
	var background context.Context
	background, s.stopBackground = context.WithCancel(ctx)
	s.background.Go(func() { s.warmDiskHelpers(background, log) })
	s.background.Go(func() { s.restartStranded(background, cfg.Name, log) })
	return s, nil
}

// warmDiskHelpers starts the disk helper of every ready node, so that the first provision on a
// node after the broker started does not wait for one (about 0.6s).
func (s *onSwarm) warmDiskHelpers(ctx context.Context, log *slog.Logger) {
	if err := s.disk.Warm(ctx); err != nil && ctx.Err() == nil {
		log.Warn("disk helpers could not be started on every node: a node without one gets it at its first operation", "error", err.Error())
	}
}

// restartStranded has the swarm place again, every strandedCheck until ctx ends, the tasks of
// the broker's instances that wait for their node after it returned.
func (s *onSwarm) restartStranded(ctx context.Context, name string, log *slog.Logger) {
	ticker := time.NewTicker(strandedCheck)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		replaced, err := s.engine.RestartStranded(ctx, map[string]string{broker.LabelBroker: name})
		for _, service := range replaced {
			log.Info("the node of an instance is back: the task that waited for it is replaced", "service", service)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("replacing the tasks that wait for a node that is back", "error", err.Error())
		}
	}
}

// Close stops the background work, removes the disk helpers and closes the nodes' engines.
func (s *onSwarm) Close() error {
	if s.stopBackground != nil {
		s.stopBackground()
		s.background.Wait()
	}
	var errs []error
	if s.disk != nil {
		errs = append(errs, s.disk.Close())
	}
	for _, c := range s.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
