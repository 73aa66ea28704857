package osbapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	osb "sigs.k8s.io/go-open-service-broker-client/v2"

	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
)

// storedBinding is a binding as the broker keeps it: in the latest version's shape, with the
// endpoints OSB 2.15 introduced (ports as strings, a range among them).
var storedBinding = osbapi.BindResponse{
	Credentials:    json.RawMessage(`{"hostname":"10.0.0.5","port":"32768","ports":{"6379/tcp":"32768"},"password":"pw"}`),
	Endpoints:      []osbapi.Endpoint{{Host: "10.0.0.5", Ports: []string{"32768", "33000-33010"}, Protocol: "tcp"}},
	SyslogDrainURL: "syslog://10.0.0.5:514",
}

const (
	withEndpoints    = `{"credentials":{"hostname":"10.0.0.5","port":"32768","ports":{"6379/tcp":"32768"},"password":"pw"},"endpoints":[{"host":"10.0.0.5","ports":["32768","33000-33010"],"protocol":"tcp"}],"syslog_drain_url":"syslog://10.0.0.5:514"}`
	withoutEndpoints = `{"credentials":{"hostname":"10.0.0.5","port":"32768","ports":{"6379/tcp":"32768"},"password":"pw"},"syslog_drain_url":"syslog://10.0.0.5:514"}`
)

// A binding is answered in the shape of the API version the platform sends: endpoints appeared
// in 2.15, so a platform on 2.14 or older gets none (see endpointsSince in apiversion.go).
func TestBindingAnswerFollowsTheAPIVersion(t *testing.T) {
	versions := []struct {
		header string
		want   string
	}{
		{"2.0", withoutEndpoints},
		{"2.13", withoutEndpoints},
		{"2.14", withoutEndpoints},
		{"2.014", withoutEndpoints},
		{"2.15", withEndpoints},
		{"2.015", withEndpoints},
		{"2.16", withEndpoints},
		{"2.17", withEndpoints},
		{"2.100", withEndpoints},
		{"2.99999999999999999999999", withEndpoints},
	}
	requests := []struct {
		name, method, path, body string
		status                   int
		setup                    func(*fakeBroker)
	}{
		{"bind", http.MethodPut, "/v2/service_instances/inst-1/service_bindings/bind-1", bindBody, http.StatusCreated, func(b *fakeBroker) {
			b.bindFunc = func(context.Context, osbapi.BindRequest) (osbapi.BindResponse, error) { return storedBinding, nil }
		}},
		{"bind again", http.MethodPut, "/v2/service_instances/inst-1/service_bindings/bind-1", bindBody, http.StatusOK, func(b *fakeBroker) {
			b.bindFunc = func(context.Context, osbapi.BindRequest) (osbapi.BindResponse, error) {
				again := storedBinding
				again.AlreadyExists = true
				return again, nil
			}
		}},
		{"get binding", http.MethodGet, "/v2/service_instances/inst-1/service_bindings/bind-1", "", http.StatusOK, func(b *fakeBroker) {
			b.getBindingFunc = func(context.Context, string, string) (osbapi.BindResponse, error) { return storedBinding, nil }
		}},
	}
	for _, req := range requests {
		for _, v := range versions {
			t.Run(req.name+" "+v.header, func(t *testing.T) {
				h := newHarness(t, req.setup)
				resp := h.do(req.method, req.path, req.body, withVersion(v.header))
				assertStatus(t, resp, req.status)
				assertJSON(t, resp.Body, v.want)
			})
		}
	}
}

// The client Kubernetes Service Catalog used speaks 2.14 at most and decodes endpoints[].ports
// as integers: it must be able to bind and read a binding all the same.
func TestKubernetesOSBClientBinds(t *testing.T) {
	h := newHarness(t, func(b *fakeBroker) {
		b.bindFunc = func(context.Context, osbapi.BindRequest) (osbapi.BindResponse, error) { return storedBinding, nil }
		b.getBindingFunc = func(context.Context, string, string) (osbapi.BindResponse, error) { return storedBinding, nil }
	})
	for _, alpha := range []bool{false, true} {
		cfg := osb.DefaultClientConfiguration()
		cfg.URL = h.url
		cfg.AuthConfig = &osb.AuthConfig{BasicAuthConfig: &osb.BasicAuthConfig{Username: brokerUser, Password: brokerPassword}}
		cfg.EnableAlphaFeatures = alpha
		client, err := osb.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		wantCreds := map[string]any{"hostname": "10.0.0.5", "port": "32768", "ports": map[string]any{"6379/tcp": "32768"}, "password": "pw"}
		bound, err := client.Bind(&osb.BindRequest{InstanceID: "inst-1", BindingID: "bind-1", ServiceID: "svc-1", PlanID: "plan-1"})
		if err != nil {
			t.Fatalf("alpha features %v: bind: %v", alpha, err)
		}
		if !reflect.DeepEqual(bound.Credentials, wantCreds) || bound.Endpoints != nil {
			t.Errorf("alpha features %v: bind answered %+v, want the credentials and no endpoints", alpha, bound)
		}
		got, err := client.GetBinding(&osb.GetBindingRequest{InstanceID: "inst-1", BindingID: "bind-1"})
		if err != nil {
			t.Fatalf("alpha features %v: get binding: %v", alpha, err)
		}
		if !reflect.DeepEqual(got.Credentials, wantCreds) || got.Endpoints != nil {
			t.Errorf("alpha features %v: get binding answered %+v, want the credentials and no endpoints", alpha, got)
		}
	}
	for _, c := range h.broker.Calls() {
		if c.Method == "Bind" {
			if r := c.Req.(osbapi.BindRequest); r.ServiceID != "svc-1" || r.PlanID != "plan-1" {
				t.Errorf("broker got %+v", r)
			}
		}
	}
}
