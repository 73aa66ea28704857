// docker-broker is the Open Service Broker of the BOSH `docker-broker` job: every service
// instance is a Docker container with its own persistent directories and host ports (on a
// swarm, config key swarm: a one-replica service on the node that holds its directories). It also
// serves Prometheus metrics at /metrics (config key metrics) and the operator's dashboard at
// /dashboard (config key dashboard), unless they are turned off.
//
//	docker-broker run FILE            serve the OSB API as configured in FILE
//	docker-broker check-config FILE   print every problem of FILE, exit 1 if there is one
//	docker-broker bbr lock|backup|restore|unlock FILE [DIR]
//	                                  the job's BBR scripts: back up or restore the running broker
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dashboard"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/metrics"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sso"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

const usage = `usage:
  docker-broker run FILE            serve the Open Service Broker API as configured in FILE
  docker-broker check-config FILE   validate FILE and print every problem with its field
  docker-broker bbr ...             back up or restore the running broker (docker-broker bbr for more)`

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "bbr" {
		os.Exit(runBBR(os.Args[2:]))
	}
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "run":
		os.Exit(run(os.Args[2]))
	case "check-config":
		os.Exit(checkConfig(os.Args[2]))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func checkConfig(path string) int {
	_, warnings, err := loadConfig(path)
	for _, w := range warnings {
		fmt.Printf("%s: warning: %s\n", path, w)
	}
	if err != nil {
		config.PrintProblems(os.Stdout, path, err)
		return 1
	}
	fmt.Printf("%s: OK\n", path)
	return 0
}

func run(path string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, warnings, err := loadConfig(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 1
	}
	for _, w := range warnings {
		log.Warn("catalog", "warning", w)
	}
	if err := serve(cfg, log); err != nil {
		log.Error("docker-broker failed", "error", err.Error())
		return 1
	}
	log.Info("docker-broker stopped")
	return 0
}

func serve(cfg Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	st, err := store.Open(cfg.StateFile)
	if err != nil {
		return err
	}
	defer st.Close()
	engine, err := dockerengine.New(cfg.DockerSocket)
	if err != nil {
		return err
	}
	defer engine.Close()
	if err := waitForEngine(ctx, engine, log, cfg.DockerSocket); err != nil {
		return err
	}
	brokerCfg := broker.Config{
		Catalog:         cfg.catalog,
		Name:            cfg.Name,
		ExternalHost:    cfg.ExternalHost,
		BindIP:          cfg.BindIP,
		PortRange:       cfg.ports,
		DataDir:         cfg.DataDir,
		RetentionDir:    retentionDir(cfg),
		Retention:       cfg.Retention.D(),
		MaxContainers:   cfg.MaxContainers,
		SyncTimeout:     cfg.SyncTimeout.D(),
		StopGrace:       cfg.StopGrace.D(),
		TombstoneWindow: cfg.TombstoneWindow.D(),
		FetchImages:     cfg.FetchImages,
	}
	var brokerEngine broker.Engine = engine
	if cfg.Swarm.Enabled {
		s, err := connectSwarm(ctx, cfg, engine, st, log)
		if err != nil {
			return err
		}
		defer s.Close() // after the broker's Shutdown, deferred below
		brokerEngine, brokerCfg.Disk = s.engine, s.disk
	}
	if cfg.Dashboard.developerDashboard() {
		brokerCfg.DeveloperDashboard = strings.TrimRight(cfg.Dashboard.ExternalURL, "/") + dashboard.DeveloperPrefix
	}
	var m *metrics.Metrics
	if cfg.Metrics.Enabled {
		m = metrics.New()
		brokerCfg.Observer = m
	}
	b, err := broker.New(brokerCfg, brokerEngine, st, log)
	if err != nil {
		return err
	}
	started := time.Now()
	if err := b.Start(ctx); err != nil {
		return fmt.Errorf("reconciling with the engine: %w", err)
	}
	defer b.Shutdown()

	var options []osbapi.Option
	var metricsHandler http.Handler // on a listener of its own
	if m != nil {
		m.CollectState(b)
		options = append(options, osbapi.ObserveRequests(m))
		if cfg.Metrics.Port == 0 {
			options = append(options, osbapi.ServeMetrics(m.Handler(log), cfg.metricsCredentials()))
		} else {
			metricsHandler = osbapi.NewMetricsHandler(m.Handler(log), cfg.metricsCredentials(), log)
		}
	}
	if cfg.Dashboard.Enabled {
		options = append(options, osbapi.ServeDashboard(dashboard.Handler(b, log), dashboard.Prefix, cfg.dashboardCredentials()))
	}
	if cfg.Dashboard.developerDashboard() {
		tlsConfig, err := osbclient.TLSTrusting(cfg.Dashboard.CloudControllerCA)
		if err != nil {
			return fmt.Errorf("dashboard.cloud_controller_ca_cert: %w", err)
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsConfig
		signOn := sso.New(sso.Config{CloudController: cfg.Dashboard.CloudController, HTTP: &http.Client{Transport: transport, Timeout: 30 * time.Second}})
		options = append(options, osbapi.ServeDeveloperDashboard(dashboard.DeveloperHandler(b, signOn, log), dashboard.DeveloperPrefix))
	}
	handler := osbapi.NewHandler(b, b, osbapi.Credentials{Username: cfg.Username, Password: cfg.Password}, log, options...)
	server, served, err := startServer(cfg, handler, cfg.Port)
	if err != nil {
		return err
	}
	log.Info("docker-broker serving", "address", net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)), "tls", cfg.TLS.Cert != "", "services", len(cfg.catalog.Services), "start_ms", time.Since(started).Milliseconds(),
		"metrics", cfg.Metrics.Enabled, "dashboard", cfg.Dashboard.Enabled, "metrics_port", cfg.Metrics.Port)
	servers := []*http.Server{server}
	var metricsServed <-chan error // nil, never ready, without a listener of its own
	if metricsHandler != nil {
		metricsServer, done, err := startServer(cfg, metricsHandler, cfg.Metrics.Port)
		if err != nil {
			return fmt.Errorf("metrics.port: %w", err)
		}
		servers, metricsServed = append(servers, metricsServer), done
	}
	select {
	case err := <-served:
		return err
	case err := <-metricsServed:
		return fmt.Errorf("serving metrics: %w", err)
	case <-ctx.Done():
	}
	log.Info("stopping: finishing requests; running operations resume at the next start")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

// startServer serves handler on the config's address at port, with the config's TLS if it
// has any. The channel gets the error the server stops with.
func startServer(cfg Config, handler http.Handler, port int) (*http.Server, <-chan error, error) {
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	listener, err := net.Listen("tcp", net.JoinHostPort(cfg.Address, strconv.Itoa(port)))
	if err != nil {
		return nil, nil, err
	}
	served := make(chan error, 1)
	go func() {
		if cfg.TLS.Cert != "" {
			served <- server.ServeTLS(listener, cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			served <- server.Serve(listener)
		}
	}()
	return server, served, nil
}

// retentionDir is where deleted instances' data waits out the retention period.
func retentionDir(cfg Config) string {
	if cfg.Retention == 0 {
		return ""
	}
	return cfg.DataDir + ".deleted"
}

// waitForEngine waits for dockerd, which the docker job may still be starting.
func waitForEngine(ctx context.Context, engine *dockerengine.Client, log *slog.Logger, socket string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := engine.Ping(pingCtx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the Docker Engine at %s does not answer (is the docker job running?): %w", socket, err)
		}
		log.Info("waiting for the Docker Engine", "socket", socket)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}
