// Package dockerengine is the broker's and the supervisor's only door to the Docker Engine API.
// It is the one package that imports the Docker SDK; everything else speaks in the small types
// declared here (ContainerSpec, Container, Progress), so the SDK can change under us in one place.
package dockerengine

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/moby/moby/client"
)

// Client talks to one Docker Engine over its API socket.
type Client struct {
	api *client.Client
}

// New returns a client for the engine listening on host: a unix socket path
// ("/var/vcap/sys/run/docker/docker.sock") or a URL ("unix:///...", "tcp://host:port").
// The API version is negotiated on the first call, so the same binary works with
// dockerd 20.10 (API 1.41) and with current engines.
func New(host string) (*Client, error) {
	if !strings.Contains(host, "://") {
		host = "unix://" + host
	}
	api, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	return &Client{api: api}, nil
}

// TLSFiles are the PEM files of a mutual-TLS client of a remote engine: the CA that signed the
// engine's server certificate, the client certificate and its key.
type TLSFiles struct {
	CACert string
	Cert   string
	Key    string
	// ServerName is the name the server certificate must carry. Engines are reached at their
	// IP, which certificates often do not list; the docker job's certificate names "docker".
	ServerName string
}

// NewTLS returns a client for the engine at address ("host:port") over TCP with mutual TLS.
func NewTLS(address string, files TLSFiles) (*Client, error) {
	config, err := files.config()
	if err != nil {
		return nil, err
	}
	api, err := client.New(
		client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: config}}),
		client.WithHost("tcp://"+address),
	)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", address, err)
	}
	return &Client{api: api}, nil
}

func (f TLSFiles) config() (*tls.Config, error) {
	ca, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, fmt.Errorf("reading the engine's CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no PEM certificate", f.CACert)
	}
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("loading the client certificate %s and key %s: %w", f.Cert, f.Key, err)
	}
	return &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, ServerName: f.ServerName, MinVersion: tls.VersionTLS12}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error { return c.api.Close() }
