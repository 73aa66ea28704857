// broker-registrar is the program of the release's errands: broker-registrar and
// broker-deregistrar register the broker with Cloud Foundry and enable access to its plans, or
// deregister it, through the CF API v3; sanity-test provisions, binds, checks, unbinds and
// deprovisions every plan through the broker itself.
//
//	broker-registrar register FILE       create or update the broker, then enable access to its plans
//	broker-registrar deregister FILE     delete the broker (its instances too with purge_instances)
//	broker-registrar sanity-test FILE    prove that every plan (or those FILE lists) works
//	broker-registrar check-config FILE   print every problem of FILE (any errand's), exit 1 if there is one
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sanitytest"
)

const usage = `usage (the program of the release's errands):
  broker-registrar register FILE       create or update the service broker in Cloud Foundry and enable access to its plans
  broker-registrar deregister FILE     delete the service broker from Cloud Foundry
  broker-registrar sanity-test FILE    provision, bind, check, unbind and deprovision every plan (or those FILE lists)
  broker-registrar check-config FILE   validate FILE (any errand's) and print every problem with its field`

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
	case "sanity-test":
		os.Exit(sanityTest(path))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

// checkConfig validates the config file of any errand: a sanity-test config says so in its
// `errand` key; any other is the registrar's.
func checkConfig(path string) int {
	data, err := os.ReadFile(path)
	if err == nil {
		if sanitytest.IsConfig(data) {
			_, err = sanitytest.LoadConfig(path)
		} else {
			_, err = registrar.LoadConfig(path)
		}
	}
	if err != nil {
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

// sanityTest runs the sanity-test errand. SIGTERM (bosh cancelling the errand) or SIGINT stops
// it: it then unbinds and deprovisions what it made before it exits.
func sanityTest(path string) int {
	cfg, err := sanitytest.LoadConfig(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 1
	}
	engine, err := dockerengine.New(cfg.DockerSocket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer engine.Close()
	broker := osbclient.New(osbclient.Config{
		URL: cfg.Broker.URL, Username: cfg.Broker.Username, Password: cfg.Broker.Password,
		TLS: &tls.Config{InsecureSkipVerify: cfg.Broker.SkipSSLValidation},
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := sanitytest.Run(ctx, cfg, broker, engine, os.Stdout); err != nil {
		return 1 // the table says what failed
	}
	return 0
}
