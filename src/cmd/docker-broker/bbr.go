package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/bbr"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

const bbrUsage = `usage (the docker-broker job's BBR scripts):
  docker-broker bbr lock FILE         lock the broker of FILE: no changes, no operation running
  docker-broker bbr backup FILE DIR   save its state and every instance's data into DIR
  docker-broker bbr restore FILE DIR  restore its state and every instance's data from DIR
  docker-broker bbr unlock FILE       accept changes again`

// runBBR runs a `bbr` subcommand against the running broker that the config file at args[1]
// describes, and returns the exit status.
func runBBR(args []string) int {
	want := map[string]int{"lock": 2, "unlock": 2, "backup": 3, "restore": 3}
	if len(args) == 0 || want[args[0]] == 0 || len(args) != want[args[0]] {
		fmt.Fprintln(os.Stderr, bbrUsage)
		return 2
	}
	cfg, _, err := loadConfig(args[1])
	if err != nil {
		config.PrintProblems(os.Stderr, args[1], err)
		return 1
	}
	client, err := adminClient(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker-broker bbr %s: %v\n", args[0], err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch args[0] {
	case "lock":
		err = client.Lock(ctx)
	case "unlock":
		err = client.Unlock(ctx)
	case "backup":
		err = client.Backup(ctx, args[2])
	case "restore":
		err = client.Restore(ctx, args[2])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker-broker bbr %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// adminClient is a client of the broker's admin endpoints on this VM: its listen address (the
// loopback address when it listens on all), its credentials and, with TLS, its own certificate,
// which is the only one it accepts (the certificate names the address the platform uses, not
// the loopback address).
func adminClient(cfg Config) (*bbr.Client, error) {
	host := cfg.Address
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	client := &bbr.Client{
		URL:      "http://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)),
		Username: cfg.Username,
		Password: cfg.Password,
		Log:      os.Stdout,
	}
	if cfg.TLS.Cert == "" {
		return client, nil
	}
	pinned, err := certificateDER(cfg.TLS.Cert)
	if err != nil {
		return nil, err
	}
	client.URL = "https://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port))
	client.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below: the name is not the loopback address
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			if len(rawCerts) == 0 || !bytes.Equal(rawCerts[0], pinned) {
				return errors.New("the broker presented another certificate than its tls.cert")
			}
			return nil
		},
	}}}
	return client, nil
}

// certificateDER reads the first certificate of a PEM file.
func certificateDER(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return block.Bytes, nil
}
