// Package brokerclient is how the errands reach the broker: its URL, its basic-auth
// credentials, and the certificates its HTTPS is verified against (the system's CAs, the
// CA of the manifest's broker certificate, which the servicebroker link hands on, and any
// other CA the errand is given). The registrar fetches the catalog through it, as Cloud
// Controller will; the orphan report reads the broker's operator endpoints.
package brokerclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Endpoint is the broker as an errand reaches it: the "broker" section of an errand's config.
type Endpoint struct {
	URL               string `json:"url"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	SkipSSLValidation bool   `json:"skip_ssl_validation"`
	// CACert is the PEM of the CA that signed the broker's certificate, trusted besides the
	// system's CAs (the docker-broker job's tls.ca, through the servicebroker link).
	CACert string `json:"ca_cert"`
}

// Validate adds the endpoint's problems to errs, each under path ("broker.url", ...).
func (e Endpoint) Validate(errs *config.Errors, path string) {
	config.CheckURL(errs, path+".url", e.URL)
	config.Require(errs, path+".username", e.Username, "the broker's basic-auth user")
	config.Require(errs, path+".password", e.Password, "the broker's basic-auth password")
	if e.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(e.CACert)) {
		errs.Add(path+".ca_cert", "holds no PEM certificate: give the PEM of the CA that signed the broker's certificate")
	}
}

// Client calls one broker with its credentials.
type Client struct {
	endpoint Endpoint
	http     *http.Client
}

// New returns a client of e that verifies the broker's certificate against the system's CAs,
// e.CACert and extraCAs (PEM, empty ones skipped), unless e.SkipSSLValidation.
func New(e Endpoint, extraCAs ...string) (*Client, error) {
	tlsConfig, err := TLSTrusting(append([]string{e.CACert}, extraCAs...)...)
	if err != nil {
		return nil, err
	}
	// Verifying the broker's certificate is the operator's choice, as it is for Cloud Controller.
	tlsConfig.InsecureSkipVerify = e.SkipSSLValidation
	return &Client{endpoint: e, http: &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig},
	}}, nil
}

// TLSTrusting is a client TLS config that trusts the system's CAs and the PEM certificates
// given (empty ones skipped).
func TLSTrusting(caPEMs ...string) (*tls.Config, error) {
	var pool *x509.CertPool
	for _, ca := range caPEMs {
		if ca == "" {
			continue
		}
		if pool == nil {
			var err error
			if pool, err = x509.SystemCertPool(); err != nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, errors.New("a CA certificate to trust holds no PEM certificate")
		}
	}
	return &tls.Config{RootCAs: pool}, nil // a nil pool is the system's
}

// URL is the broker's URL, for messages.
func (c *Client) URL() string { return c.endpoint.URL }

// Get fetches path (e.g. "/v2/catalog") from the broker and decodes its JSON answer into
// dst. Its errors say what to do: a certificate from an unknown CA names the property that
// makes the errand trust it.
func (c *Client) Get(ctx context.Context, path string, dst any) error {
	url := strings.TrimRight(c.endpoint.URL, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.endpoint.Username, c.endpoint.Password)
	req.Header.Set("X-Broker-API-Version", "2.17")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return &UnreachableError{Err: explainTLS(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return &UnreachableError{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the broker answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("the broker's answer at %s is not what was expected: %w", path, err)
	}
	return nil
}

// UnreachableError is a request that got no answer from the broker: refused, timed out, or a
// TLS handshake that failed.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "the broker could not be reached: " + e.Err.Error() }

func (e *UnreachableError) Unwrap() error { return e.Err }

// explainTLS adds what to do to a certificate the client does not trust.
func explainTLS(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var wrongName x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("%w: its certificate is not signed by a CA this errand trusts; give the CA of the broker's certificate "+
			"(the docker-broker job's tls.ca, which the servicebroker link hands on, or this errand's servicebroker.ca_cert)", err)
	case errors.As(err, &wrongName):
		return fmt.Errorf("%w: the broker's certificate does not name the host of its URL; add the host to the certificate's alternative names", err)
	}
	return err
}
