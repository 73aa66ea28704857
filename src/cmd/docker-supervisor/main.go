// docker-supervisor runs and supervises dockerd for the BOSH `docker` job, the local run and
// the tests.
//
//	docker-supervisor run FILE            start dockerd from the config FILE and keep it running
//	docker-supervisor check-config FILE   print every problem of FILE, exit 1 if there is one
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/supervisor"
)

const usage = `usage:
  docker-supervisor run FILE            start dockerd as configured in FILE and supervise it
  docker-supervisor check-config FILE   validate FILE and print every problem with its field`

func main() {
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
	if _, err := supervisor.Load(path); err != nil {
		config.PrintProblems(os.Stdout, path, err)
		return 1
	}
	fmt.Printf("%s: OK\n", path)
	return 0
}

func run(path string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	cfg, err := supervisor.Load(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 1
	}
	engine, err := dockerengine.New(cfg.Socket)
	if err != nil {
		log.Error("cannot create the engine client", "error", err.Error())
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
