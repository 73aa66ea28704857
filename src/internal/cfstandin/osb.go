package cfstandin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// osbAPIVersion is the X-Broker-API-Version Cloud Controller sends.
const osbAPIVersion = "2.17"

// brokerCall is one request to a service broker, as Cloud Controller makes it.
type brokerCall struct {
	broker   brokerEndpoint
	method   string
	path     string // with its query
	body     any    // JSON, or nil
	identity string // the user GUID for X-Broker-API-Originating-Identity; empty for platform calls
}

// brokerEndpoint is what calling a broker needs, copied out of the state so that calls run
// without the lock.
type brokerEndpoint struct {
	url, username, password string
}

func endpointOf(b *broker) brokerEndpoint {
	return brokerEndpoint{url: strings.TrimRight(b.url, "/"), username: b.username, password: b.password}
}

type brokerResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends c and returns the broker's answer; an unreachable broker is a cfError.
func (s *Server) call(ctx context.Context, c brokerCall) (brokerResponse, *cfError) {
	var body io.Reader
	if c.body != nil {
		data, err := json.Marshal(c.body)
		if err != nil {
			e := errBrokerBadResponse.with("encoding the request: %v", err)
			return brokerResponse{}, &e
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.broker.url+c.path, body)
	if err != nil {
		e := errBrokerUnreachable.with("The service broker could not be reached: %v", err)
		return brokerResponse{}, &e
	}
	req.SetBasicAuth(c.broker.username, c.broker.password)
	req.Header.Set("X-Broker-API-Version", osbAPIVersion)
	req.Header.Set("X-Broker-API-Request-Identity", newGUID())
	if c.identity != "" {
		identity, _ := json.Marshal(map[string]string{"user_id": c.identity})
		req.Header.Set("X-Broker-API-Originating-Identity", "cloudfoundry "+base64.StdEncoding.EncodeToString(identity))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.broker.Do(req)
	if err != nil {
		s.logf("broker: %s %s -> %v", c.method, c.path, err)
		e := errBrokerUnreachable.with("The service broker could not be reached: %s", c.broker.url)
		return brokerResponse{}, &e
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		e := errBrokerBadResponse.with("reading the service broker's response: %v", err)
		return brokerResponse{}, &e
	}
	s.logf("broker: %s %s -> %d", c.method, c.path, resp.StatusCode)
	return brokerResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// description is the "description" of a broker's error body, or the body itself.
func (r brokerResponse) description() string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"description"`
	}
	if json.Unmarshal(r.body, &e) == nil && e.Description != "" {
		return e.Description
	}
	return strings.TrimSpace(string(r.body))
}

// badResponse is Cloud Controller's error for a broker answer it cannot use.
func (r brokerResponse) badResponse(c brokerCall) *cfError {
	e := errBrokerBadResponse.with("Service broker error: %s %s%s returned %d: %s", c.method, c.broker.url, c.path, r.status, r.description())
	return &e
}

// pollLastOperation polls a broker's last_operation until the operation ends, waiting
// Retry-After between polls when the broker sends it. gone reports a 410 (the resource no
// longer exists: success for a delete).
func (s *Server) pollLastOperation(ctx context.Context, c brokerCall, onPoll func(state, description string)) (state, description string, gone bool, failure *cfError) {
	for {
		resp, err := s.call(ctx, c)
		if err != nil {
			return "", "", false, err
		}
		switch resp.status {
		case http.StatusGone:
			return "", "", true, nil
		case http.StatusOK:
		default:
			return "", "", false, resp.badResponse(c)
		}
		var op struct {
			State       string `json:"state"`
			Description string `json:"description"`
		}
		if json.Unmarshal(resp.body, &op) != nil || op.State == "" {
			e := errBrokerMalformed.with("The service broker returned an invalid response for last_operation: %s", resp.body)
			return "", "", false, &e
		}
		onPoll(op.State, op.Description)
		if op.State != "in progress" {
			return op.State, op.Description, false, nil
		}
		wait := s.opts.PollInterval
		if seconds, err := strconv.Atoi(resp.header.Get("Retry-After")); err == nil && seconds > 0 {
			wait = time.Duration(seconds) * time.Second
		}
		select {
		case <-ctx.Done():
			e := errBrokerUnreachable.with("polling stopped: %v", ctx.Err())
			return "", "", false, &e
		case <-time.After(wait):
		}
	}
}

// catalog is the part of an OSB catalog Cloud Controller keeps.
type catalog struct {
	Services []struct {
		ID             string          `json:"id"`
		Name           string          `json:"name"`
		Description    string          `json:"description"`
		Bindable       bool            `json:"bindable"`
		PlanUpdateable bool            `json:"plan_updateable"`
		Tags           []string        `json:"tags"`
		Requires       []string        `json:"requires"`
		Metadata       json.RawMessage `json:"metadata"`
		// DashboardClient is the UAA client Cloud Controller creates for the offering's
		// dashboard (single sign-on).
		DashboardClient *struct {
			ID          string `json:"id"`
			Secret      string `json:"secret"`
			RedirectURI string `json:"redirect_uri"`
		} `json:"dashboard_client"`
		Plans []struct {
			ID              string          `json:"id"`
			Name            string          `json:"name"`
			Description     string          `json:"description"`
			Free            *bool           `json:"free"`
			Bindable        *bool           `json:"bindable"`
			Metadata        json.RawMessage `json:"metadata"`
			MaintenanceInfo json.RawMessage `json:"maintenance_info"`
		} `json:"plans"`
	} `json:"services"`
}

// fetchCatalog gets and validates a broker's /v2/catalog as Cloud Controller does when a
// broker is created or updated.
func (s *Server) fetchCatalog(ctx context.Context, b brokerEndpoint) (catalog, *cfError) {
	c := brokerCall{broker: b, method: http.MethodGet, path: "/v2/catalog"}
	resp, err := s.call(ctx, c)
	if err != nil {
		return catalog{}, err
	}
	if resp.status != http.StatusOK {
		e := errBrokerRejected.with("The service broker rejected the request. Status Code: %d %s. Please check that the URL points to a valid service broker.", resp.status, http.StatusText(resp.status))
		return catalog{}, &e
	}
	var cat catalog
	if json.Unmarshal(resp.body, &cat) != nil {
		e := errBrokerMalformed.with("The service broker returned an invalid response: expected valid JSON object in body. Please check that the URL points to a valid service broker.")
		return catalog{}, &e
	}
	if problems := cat.problems(); len(problems) > 0 {
		e := errCatalogInvalid.with("Service broker catalog is invalid: \n%s", strings.Join(problems, "\n"))
		return catalog{}, &e
	}
	return cat, nil
}

// problems lists what Cloud Controller would refuse in a catalog.
func (cat catalog) problems() []string {
	var problems []string
	names := map[string]bool{}
	ids := map[string]bool{}
	for i, svc := range cat.Services {
		at := fmt.Sprintf("Service %s", svc.Name)
		if svc.Name == "" {
			at = fmt.Sprintf("Service #%d", i)
			problems = append(problems, at+": name is required")
		}
		if svc.ID == "" {
			problems = append(problems, at+": Service id is required")
		}
		if svc.Description == "" {
			problems = append(problems, at+": Service description is required")
		}
		if names[svc.Name] {
			problems = append(problems, at+": Service names must be unique within a broker")
		}
		if ids[svc.ID] {
			problems = append(problems, at+": Service ids must be unique")
		}
		names[svc.Name], ids[svc.ID] = true, true
		if len(svc.Plans) == 0 {
			problems = append(problems, at+": At least one plan is required")
		}
		planNames := map[string]bool{}
		for _, p := range svc.Plans {
			if p.ID == "" || p.Name == "" || p.Description == "" {
				problems = append(problems, fmt.Sprintf("%s: Plan %q: id, name and description are required", at, p.Name))
			}
			if planNames[p.Name] {
				problems = append(problems, fmt.Sprintf("%s: Plan names must be unique within a service (%s)", at, p.Name))
			}
			if ids[p.ID] {
				problems = append(problems, fmt.Sprintf("%s: Plan ids must be unique (%s)", at, p.ID))
			}
			planNames[p.Name], ids[p.ID] = true, true
		}
	}
	return problems
}
