// broker-registrar is the program of the broker-registrar and broker-deregistrar errands:
// it registers the broker with Cloud Foundry and enables access to its plans, or
// deregisters it, through the CF API v3.
//
//	broker-registrar register FILE       create or update the broker, then enable access to its plans
//	broker-registrar deregister FILE     delete the broker (its instances too with purge_instances)
//	broker-registrar check-config FILE   print every problem of FILE, exit 1 if there is one
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
)

const usage = `usage:
  broker-registrar register FILE       create or update the service broker in Cloud Foundry and enable access to its plans
  broker-registrar deregister FILE     delete the service broker from Cloud Foundry
  broker-registrar check-config FILE   validate FILE and print every problem with its field`

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	command, path := os.Args[1], os.Args[2]
	switch command {
	case "check-config":
		os.Exit(checkConfig(path))
	case "register", "deregister":
		os.Exit(run(command, path))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func checkConfig(path string) int {
	if _, err := registrar.LoadConfig(path); err != nil {
		config.PrintProblems(os.Stdout, path, err)
		return 1
	}
	fmt.Printf("%s: OK\n", path)
	return 0
}

func run(command, path string) int {
	cfg, err := registrar.LoadConfig(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := registrar.New(ctx, cfg, registrar.Options{}, os.Stdout)
	if err == nil {
		if command == "register" {
			err = r.Register(ctx)
		} else {
			err = r.Deregister(ctx)
		}
	}
	if err != nil {
		fmt.Println("FAILED")
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
