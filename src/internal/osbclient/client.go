// Package osbclient is the platform's side of the Open Service Broker API v2.17, for the
// programs that talk to the broker as Cloud Controller does: the errands that provision, bind,
// upgrade and delete instances directly (sanity-test, upgrade-all-instances). It sends what a
// platform must send (basic auth, X-Broker-API-Version, accepts_incomplete, service and plan
// ids) and follows asynchronous operations through last_operation until they end.
package osbclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// APIVersion is the OSB version this client speaks.
const APIVersion = "2.17"

// Config says where the broker is and how to reach it.
type Config struct {
	URL      string // e.g. https://10.0.0.5:8080, without /v2
	Username string
	Password string
	// TLS verifies the broker's certificate (its RootCAs); nil trusts the system's CAs.
	TLS *tls.Config
	// PollInterval is how long to wait between two last_operation polls when the broker does
	// not say (Retry-After). Zero means two seconds, Cloud Controller's first interval.
	PollInterval time.Duration
	// Timeout bounds each HTTP request; zero means 60 s, Cloud Controller's default.
	Timeout time.Duration
}

// Client is a platform's connection to one broker.
type Client struct {
	base     string
	username string
	password string
	http     *http.Client
	poll     time.Duration
}

// New returns a client of the broker at cfg.URL.
func New(cfg Config) *Client {
	poll := cfg.PollInterval
	if poll == 0 {
		poll = 2 * time.Second
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = cfg.TLS
	return &Client{
		base: strings.TrimRight(cfg.URL, "/"), username: cfg.Username, password: cfg.Password,
		http: &http.Client{Timeout: timeout, Transport: transport}, poll: poll,
	}
}

// Error is an answer of the broker that is not what the request asked for.
type Error struct {
	Method      string
	Path        string
	Status      int
	Code        string // the OSB error code, e.g. "ConcurrencyError"; often empty
	Description string
}

func (e *Error) Error() string {
	what := fmt.Sprintf("%s %s: the broker answered %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		what += " " + e.Code
	}
	if e.Description != "" {
		what += ": " + e.Description
	}
	return what
}

// IsGone tells whether err is the broker's 410 Gone: the object does not exist (any more).
func IsGone(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusGone
}

// OperationFailedError is an asynchronous operation that the broker reports as failed.
type OperationFailedError struct {
	Operation   string // "provision", "update", "deprovision"
	InstanceID  string
	Description string
}

func (e *OperationFailedError) Error() string {
	return fmt.Sprintf("%s of instance %s failed: %s", e.Operation, e.InstanceID, e.Description)
}

// do sends one request and decodes a 2xx body into out (when not nil). Any other status is an
// *Error carrying the broker's error code and description.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, http.Header, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		reader = bytes.NewReader(data)
	}
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(c.username, c.password)
	req.Header.Set("X-Broker-API-Version", APIVersion)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var problem struct {
			Error       string `json:"error"`
			Description string `json:"description"`
		}
		if json.Unmarshal(data, &problem) != nil {
			problem.Description = strings.TrimSpace(string(data))
		}
		return resp.StatusCode, resp.Header, &Error{Method: method, Path: path, Status: resp.StatusCode, Code: problem.Error, Description: problem.Description}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: the broker's answer is not OSB JSON: %w", method, path, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}

// instancePath is the path of an instance, or of one of its bindings when bindingID is set.
func instancePath(instanceID, bindingID string) string {
	p := "/v2/service_instances/" + url.PathEscape(instanceID)
	if bindingID != "" {
		p += "/service_bindings/" + url.PathEscape(bindingID)
	}
	return p
}

// ids is the query every request about an existing instance carries.
func ids(serviceID, planID string) url.Values {
	return url.Values{"service_id": {serviceID}, "plan_id": {planID}}
}

// MaintenanceInfo is a plan's or an instance's maintenance version.
type MaintenanceInfo = osbapi.MaintenanceInfo
