// docker-supervisor runs and supervises dockerd for the BOSH `docker` job, the local run and
// the tests.
//
//	docker-supervisor run FILE                      start dockerd from the config FILE and keep it running
//	docker-supervisor check-config FILE             print every problem of FILE, exit 1 if there is one
//	docker-supervisor drain [-grace DURATION] FILE  drain the swarm node, stop every running container (the BOSH drain)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
)

const usage = `usage:
  docker-supervisor run FILE                      start dockerd as configured in FILE and supervise it
  docker-supervisor check-config FILE             validate FILE and print every problem with its field
  docker-supervisor drain [-grace DURATION] FILE  on a swarm, have the managers drain the node and
                                                  wait for its tasks to stop; then stop every running
                                                  container of FILE's engine, all at once, and print 0
                                                  (BOSH's drain contract)`

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch cmd, args := os.Args[1], os.Args[2:]; {
	case cmd == "run" && len(args) == 1:
		os.Exit(run(args[0]))
	case cmd == "check-config" && len(args) == 1:
		os.Exit(checkConfig(args[0]))
	case cmd == "drain":
		os.Exit(drain(args))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func checkConfig(path string) int {
	if _, err := supervisor.Load(path); err != nil {
		config.PrintProblems(os.Stdout, path, err)
		return 1
	}
	fmt.Printf("%s: OK\n", path)
	return 0
}

func run(path string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, engine, ok := open(path, log)
	if !ok {
		return 1
	}
	defer engine.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := supervisor.New(cfg, engine, log).Run(ctx); err != nil {
		log.Error("docker-supervisor failed", "error", err.Error())
		return 1
	}
	log.Info("docker-supervisor stopped")
	return 0
}

// open loads the config at path and makes a client of its engine; it reports what fails.
func open(path string, log *slog.Logger) (supervisor.Config, *dockerengine.Client, bool) {
	cfg, err := supervisor.Load(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return supervisor.Config{}, nil, false
	}
	engine, err := dockerengine.New(cfg.Socket)
	if err != nil {
		log.Error("cannot create the engine client", "error", err.Error())
		return supervisor.Config{}, nil, false
	}
	return cfg, engine, true
}

// drain drains the engine's swarm node, stops its containers and prints the one integer BOSH reads from a drain
// script's stdout: 0, nothing left to wait for. Logs go to stderr. An engine that does not
// answer has nothing to drain: BOSH may call drain after the job has stopped.
func drain(args []string) int {
	flags := flag.NewFlagSet("drain", flag.ContinueOnError)
	grace := flags.Duration("grace", 30*time.Second, "how long each container may take to exit after its stop signal")
	if err := flags.Parse(args); err != nil || flags.NArg() != 1 {
		fmt.Fprintln(os.Stderr, usage)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, engine, ok := open(flags.Arg(0), log)
	if !ok {
		return 1
	}
	defer engine.Close()
	pingCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := engine.Ping(pingCtx); err != nil {
		log.Info("the engine does not answer: no container to stop", "socket", cfg.Socket, "error", err.Error())
		fmt.Println(0)
		return 0
	}
	// On a swarm node the managers are asked to drain it first; Drain bounds each of its steps.
	var node supervisor.NodeDrainer
	if cfg.Swarm.Enabled {
		node = swarmjoin.New(cfg.Swarm, engine, swarmjoin.ConnectTLS(cfg.Swarm), log)
	}
	start := time.Now()
	stopped, err := supervisor.Drain(context.Background(), engine, node, *grace, log)
	if err != nil {
		log.Error("drain failed", "stopped", stopped, "error", err.Error())
		return 1
	}
	log.Info("drained", "stopped", stopped, "duration", time.Since(start).Round(time.Millisecond).String())
	fmt.Println(0)
	return 0
}
