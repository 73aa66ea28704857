package osbclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Endpoint is the broker as an errand's config file names it (its "broker" section, rendered
// from the servicebroker link): where it is, its basic-auth credentials, and how to verify its
// certificate.
type Endpoint struct {
	URL               string `json:"url"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	SkipSSLValidation bool   `json:"skip_ssl_validation"`
	// CACert is the PEM of the CA that signed the broker's certificate, trusted besides the
	// system's CAs: the docker-broker job's tls.ca, which the servicebroker link hands on.
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

// Config is the client config of the endpoint: it verifies the broker's certificate against
// the system's CAs, e.CACert and extraCAs (PEM; empty ones skipped), unless
// e.SkipSSLValidation, which is the operator's choice as it is for Cloud Controller.
func (e Endpoint) Config(extraCAs ...string) (Config, error) {
	tlsConfig, err := TLSTrusting(append([]string{e.CACert}, extraCAs...)...)
	if err != nil {
		return Config{}, err
	}
	tlsConfig.InsecureSkipVerify = e.SkipSSLValidation
	return Config{URL: e.URL, Username: e.Username, Password: e.Password, TLS: tlsConfig}, nil
}

// TLSTrusting is a client TLS config that trusts the system's CAs and the PEM certificates
// given (empty ones skipped).
func TLSTrusting(caPEMs ...string) (*tls.Config, error) {
	var pool *x509.CertPool // nil: the system's
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
	return &tls.Config{RootCAs: pool}, nil
}

// UnreachableError is a request that got no answer from the broker: refused, timed out, or a
// TLS handshake that failed (then with what to do about it).
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "the broker could not be reached: " + e.Err.Error() }

func (e *UnreachableError) Unwrap() error { return e.Err }

// unreachable wraps the error of a request that got no answer, adding what to do about a
// certificate the client does not trust.
func unreachable(err error) error {
	var unknownCA x509.UnknownAuthorityError
	var wrongName x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		err = fmt.Errorf("%w: its certificate is not signed by a CA this errand trusts; give the CA of the broker's certificate "+
			"(the docker-broker job's tls.ca, which the servicebroker link hands on, or this errand's servicebroker.ca_cert)", err)
	case errors.As(err, &wrongName):
		err = fmt.Errorf("%w: the broker's certificate does not name the host of its URL; add the host to the certificate's alternative names", err)
	}
	return &UnreachableError{Err: err}
}
