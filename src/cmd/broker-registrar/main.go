// broker-registrar is the program of the release's errands: broker-registrar and
// broker-deregistrar register the broker with Cloud Foundry and enable access to its plans, or
// deregister it, through the CF API v3; orphan-report prints the broker's orphans; sanity-test
// provisions, binds, checks, unbinds and deprovisions every plan through the broker itself;
// upgrade-all-instances upgrades every service instance whose maintenance_info is behind its
// plan's, through Cloud Foundry or directly through the broker.
//
//	broker-registrar register FILE               create or update the broker, then enable access to its plans
//	broker-registrar deregister FILE             delete the broker (its instances too with purge_instances)
//	broker-registrar orphan-report FILE          print the broker's orphans; exit 1 if there are any, 2 if there is no report
//	broker-registrar sanity-test FILE            prove that every plan (or those FILE lists) works
//	broker-registrar upgrade-all-instances FILE  upgrade every outdated instance
//	broker-registrar check-config FILE           print every problem of FILE (any errand's), exit 1 if there is one
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/orphanreport"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/sanitytest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

const usage = `usage (the program of the release's errands):
  broker-registrar register FILE               create or update the service broker in Cloud Foundry and enable access to its plans
  broker-registrar deregister FILE             delete the service broker from Cloud Foundry
  broker-registrar orphan-report FILE          print the broker's containers and directories without records and records without containers;
                                               exit 0 if there are none, 1 if there are, 2 if the broker gave no report
  broker-registrar sanity-test FILE            provision, bind, check, unbind and deprovision every plan (or those FILE lists)
  broker-registrar upgrade-all-instances FILE  upgrade every service instance whose maintenance_info is behind its plan's
  broker-registrar check-config FILE           validate FILE (any errand's) and print every problem with its field`

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
	case "orphan-report":
		os.Exit(orphanReport(path))
	case "sanity-test":
		os.Exit(sanityTest(path))
	case "upgrade-all-instances":
		os.Exit(upgradeAll(path))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

// checkConfig validates the config file of any errand, told apart by its `errand` key.
func checkConfig(path string) int {
	data, err := os.ReadFile(path)
	if err == nil {
		switch config.ErrandOf(data) {
		case orphanreport.ErrandName:
			_, err = orphanreport.LoadConfig(path)
		case sanitytest.ErrandName:
			_, err = sanitytest.LoadConfig(path)
		case registrar.UpgradeErrandName:
			_, err = registrar.LoadUpgradeConfig(path)
		default:
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
	return exit(err)
}

// upgradeAll is the upgrade-all-instances errand: through Cloud Foundry when cf.api_url is
// set, else directly through the broker.
func upgradeAll(path string) int {
	cfg, err := registrar.LoadUpgradeConfig(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	platform, err := upgradePlatform(ctx, cfg, os.Stdout)
	if err == nil {
		_, err = upgrade.Run(ctx, platform, cfg.Policy, os.Stdout)
	}
	return exit(err)
}

func upgradePlatform(ctx context.Context, cfg registrar.UpgradeConfig, out io.Writer) (upgrade.Platform, error) {
	if cfg.ThroughCloudFoundry() {
		return registrar.New(ctx, registrar.Config{CF: cfg.CF, Broker: cfg.Broker}, registrar.Options{}, out)
	}
	fmt.Fprintf(out, "Broker: %s at %s (username %s)\nNo cf.api_url: upgrading directly through the broker\n", cfg.Broker.Name, cfg.Broker.URL, cfg.Broker.Username)
	// Polled more often than Cloud Controller's 2 s: one broker's last_operation is cheap, and an
	// upgrade's time is otherwise rounded up to the interval, instance after instance.
	clientConfig, err := cfg.Broker.Config()
	if err != nil {
		return nil, fmt.Errorf("broker.ca_cert: %w", err)
	}
	clientConfig.PollInterval = 250 * time.Millisecond
	return upgrade.Broker{Client: osbclient.New(clientConfig)}, nil
}

// exit prints FAILED and err, and returns the errand's exit code.
func exit(err error) int {
	if err != nil {
		fmt.Println("FAILED")
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// orphanReport exits 1 when something is orphaned, so that `bosh run-errand orphan-report`
// fails then, and 2 when there is no report: 1 always means orphans.
func orphanReport(path string) int {
	cfg, err := orphanreport.LoadConfig(path)
	if err != nil {
		config.PrintProblems(os.Stderr, path, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	orphaned, err := orphanreport.Run(ctx, cfg, os.Stdout)
	if err != nil {
		fmt.Println("FAILED: no orphan report")
		var unreachable *osbclient.UnreachableError
		if errors.As(err, &unreachable) {
			fmt.Fprintln(os.Stderr, "the broker did not answer; is the docker-broker job running (bosh instances --ps)?")
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if orphaned {
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
	clientConfig, err := cfg.Broker.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "broker.ca_cert: %v\n", err)
		return 1
	}
	broker := osbclient.New(clientConfig)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := sanitytest.Run(ctx, cfg, broker, engine, os.Stdout); err != nil {
		return 1 // the table says what failed
	}
	return 0
}
