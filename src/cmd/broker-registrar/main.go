// broker-registrar is the program of the release's errands: broker-registrar and
// broker-deregistrar register the broker with Cloud Foundry and enable access to its plans, or
// deregister it, through the CF API v3; upgrade-all-instances upgrades every service instance
// whose maintenance_info is behind its plan's, through Cloud Foundry or directly through the
// broker.
//
//	broker-registrar register FILE               create or update the broker, then enable access to its plans
//	broker-registrar deregister FILE             delete the broker (its instances too with purge_instances)
//	broker-registrar upgrade-all-instances FILE  upgrade every outdated instance
//	broker-registrar check-config FILE           print every problem of FILE, exit 1 if there is one
//
// check-config tells the kind of FILE by its name, as the errand jobs render it:
// upgrade-all-instances.json, else the registrar's config (registrar.json).
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
	"github.com/cloudfoundry-community/docker-broker/src/internal/registrar"
	"github.com/cloudfoundry-community/docker-broker/src/internal/upgrade"
)

const usage = `usage: broker-registrar COMMAND FILE, the program of the docker-broker release's errands
  broker-registrar register FILE               create or update the service broker in Cloud Foundry and enable access to its plans
  broker-registrar deregister FILE             delete the service broker from Cloud Foundry
  broker-registrar upgrade-all-instances FILE  upgrade every service instance whose maintenance_info is behind its plan's
  broker-registrar check-config FILE           validate FILE and print every problem with its field
                                               (upgrade-all-instances.json, else a registrar.json)`

// upgradeConfigName is the file name of the upgrade-all-instances errand's config.
const upgradeConfigName = "upgrade-all-instances.json"

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
	case "upgrade-all-instances":
		os.Exit(upgradeAll(path))
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func checkConfig(path string) int {
	var err error
	if filepath.Base(path) == upgradeConfigName {
		_, err = registrar.LoadUpgradeConfig(path)
	} else {
		_, err = registrar.LoadConfig(path)
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
	client := osbclient.New(osbclient.Config{URL: cfg.Broker.URL, Username: cfg.Broker.Username, Password: cfg.Broker.Password,
		TLS: &tls.Config{InsecureSkipVerify: cfg.Broker.SkipSSLValidation}, PollInterval: 250 * time.Millisecond})
	return upgrade.Broker{Client: client}, nil
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
