// Package registrar registers the broker with Cloud Foundry and enables access to its plans,
// and deregisters it: the broker-registrar and broker-deregistrar errands. It talks to the
// CF API v3 through go-cfclient (the only package that imports it) and prints what an
// operator of the predecessor (broker-registrar-boshrelease, ancestors.md §3) saw, e.g.
// "Enabling access to all plans of service redis32 for all orgs as admin..." then "OK".
// It never prints a password or secret.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudfoundry/go-cfclient/v3/client"
	cfconfig "github.com/cloudfoundry/go-cfclient/v3/config"
	"github.com/cloudfoundry/go-cfclient/v3/resource"
	"golang.org/x/oauth2"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbclient"
)

// Options tune how the registrar waits for Cloud Foundry's jobs.
type Options struct {
	// PollInterval is the time between polls of a job (default 1s).
	PollInterval time.Duration
	// JobTimeout bounds the wait for one job: a catalog synchronisation, or the deletion of
	// an instance with its bindings by the broker (default 30m).
	JobTimeout time.Duration
}

// Registrar is a logged-in session with Cloud Foundry for one broker.
type Registrar struct {
	cfg    Config
	opts   Options
	cf     *client.Client
	out    io.Writer
	as     string            // who the messages say acts: the CF user or UAA client
	broker *osbclient.Client // fetches the broker's catalog
}

// New logs in to Cloud Foundry as cfg says and prints where and as whom.
func New(ctx context.Context, cfg Config, opts Options, out io.Writer) (*Registrar, error) {
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	if opts.JobTimeout == 0 {
		opts.JobTimeout = 30 * time.Minute
	}
	r := &Registrar{cfg: cfg, opts: opts, out: out, as: cfg.CF.Username}
	if r.as == "" {
		r.as = cfg.CF.ClientID
	}
	fmt.Fprintf(out, "CF API: %s (skip SSL validation: %s)\n", cfg.CF.APIURL, yesNo(cfg.CF.SkipSSLValidation))
	fmt.Fprintf(out, "Broker: %s at %s (username %s, skip SSL validation: %s)\n", cfg.Broker.Name, cfg.Broker.URL, cfg.Broker.Username, yesNo(cfg.Broker.SkipSSLValidation))
	fmt.Fprintf(out, "Authenticating with Cloud Foundry as %s...\n", r.as)

	tlsConfig, err := osbclient.TLSTrusting(cfg.CF.CACert)
	if err != nil {
		return nil, fmt.Errorf("cf.ca_cert: %w", err)
	}
	options := []cfconfig.Option{
		cfconfig.HttpClient(&http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsConfig}}),
		cfconfig.UserAgent("docker-broker broker-registrar"),
	}
	if cfg.CF.SkipSSLValidation {
		options = append(options, cfconfig.SkipTLSValidation())
	}
	if cfg.CF.Username != "" {
		options = append(options, cfconfig.UserPassword(cfg.CF.Username, cfg.CF.Password))
	} else {
		options = append(options, cfconfig.ClientCredentials(cfg.CF.ClientID, cfg.CF.ClientSecret))
	}
	cfCfg, err := cfconfig.New(cfg.CF.APIURL, options...)
	if err != nil {
		return nil, &Error{Action: "logging in to Cloud Foundry at " + cfg.CF.APIURL, Err: err}
	}
	if r.cf, err = client.New(cfCfg); err != nil {
		return nil, &Error{Action: "logging in to Cloud Foundry", Err: err}
	}
	// A client-credentials login fetches its token on first use: check it now, so that bad
	// credentials fail here and not halfway through.
	if _, err := r.cf.Organizations.ListAll(ctx, nil); err != nil {
		return nil, &Error{Action: "logging in to Cloud Foundry as " + r.as, Err: err}
	}
	fmt.Fprintln(out, "OK")
	// The broker's CA, and Cloud Foundry's: a broker behind a route (route-registration.yml)
	// answers with the routers' certificate, which the CA of the CF API usually signed.
	brokerConfig, err := cfg.Broker.Config(cfg.CF.CACert)
	if err != nil {
		return nil, fmt.Errorf("broker.ca_cert: %w", err)
	}
	r.broker = osbclient.New(brokerConfig)
	return r, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Error is a failed step: what the registrar was doing, and why it failed — with Cloud
// Foundry's error code, title and detail when Cloud Foundry refused.
type Error struct {
	Action string
	Err    error
}

func (e *Error) Error() string { return e.Action + ": " + describe(e.Err) }

func (e *Error) Unwrap() error { return e.Err }

// JobFailedError is a Cloud Foundry job that ended FAILED, with the errors it reports.
type JobFailedError struct {
	Operation string
	Errors    []resource.CloudFoundryError
}

func (e *JobFailedError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, cfErr := range e.Errors {
		lines[i] = describeCF(cfErr)
	}
	if len(lines) == 0 {
		lines = []string{"no error reported"}
	}
	return "Cloud Foundry job " + e.Operation + " failed: " + strings.Join(lines, "; ")
}

// describe renders err for an operator: Cloud Foundry's error code, title and detail where
// there is one, UAA's refusal, or the error text.
func describe(err error) string {
	var cfErr resource.CloudFoundryError
	var httpErr resource.CloudFoundryHTTPError
	var oauthErr *oauth2.RetrieveError
	var jobErr *JobFailedError
	switch {
	case errors.As(err, &jobErr):
		return jobErr.Error()
	case errors.As(err, &cfErr):
		return describeCF(cfErr)
	case errors.As(err, &oauthErr):
		description := oauthErr.ErrorDescription
		if description == "" {
			description = strings.TrimSpace(string(oauthErr.Body))
		}
		return fmt.Sprintf("UAA refused the login (%s %s): %s", oauthErr.Response.Status, oauthErr.ErrorCode, description)
	case errors.As(err, &httpErr):
		return fmt.Sprintf("HTTP %s: %s", httpErr.Status, strings.TrimSpace(string(httpErr.Body)))
	default:
		return err.Error()
	}
}

func describeCF(e resource.CloudFoundryError) string {
	return fmt.Sprintf("%s (code %d): %s", e.Title, e.Code, e.Detail)
}

// waitForJob polls a Cloud Foundry job until it completes, and fails with its errors.
func (r *Registrar) waitForJob(ctx context.Context, jobGUID string) error {
	if jobGUID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.JobTimeout)
	defer cancel()
	for {
		job, err := r.cf.Jobs.Get(ctx, jobGUID)
		if err != nil {
			return err
		}
		for _, w := range job.Warnings {
			fmt.Fprintf(r.out, "Warning: %s\n", w.Detail)
		}
		switch job.State {
		case resource.JobStateComplete:
			return nil
		case resource.JobStateFailed:
			return &JobFailedError{Operation: job.Operation, Errors: job.Errors}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Cloud Foundry job %s (%s) is still %s after %s", jobGUID, job.Operation, job.State, r.opts.JobTimeout)
		case <-time.After(r.opts.PollInterval):
		}
	}
}

// findBroker returns the broker registered under the configured name, or nil.
func (r *Registrar) findBroker(ctx context.Context) (*resource.ServiceBroker, error) {
	opts := client.NewServiceBrokerListOptions()
	opts.Names.EqualTo(r.cfg.Broker.Name)
	brokers, err := r.cf.ServiceBrokers.ListAll(ctx, opts)
	if err != nil {
		return nil, &Error{Action: "looking up service broker " + r.cfg.Broker.Name, Err: err}
	}
	if len(brokers) == 0 {
		return nil, nil
	}
	return brokers[0], nil
}
