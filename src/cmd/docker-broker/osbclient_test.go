package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	osb "sigs.k8s.io/go-open-service-broker-client/v2"

	"github.com/cloudfoundry-community/docker-broker/src/internal/broker"
	"github.com/cloudfoundry-community/docker-broker/src/internal/brokertest"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// TestKubernetesOSBClientLifecycle drives a real broker (on the test binary's dockerd, over
// HTTP) with sigs.k8s.io/go-open-service-broker-client/v2, the client of Kubernetes Service
// Catalog, as that platform does: catalog, asynchronous provision polled to its end, bind,
// the credentials used with a Redis client, unbind, asynchronous deprovision polled to its end.
// The client speaks OSB 2.14 and decodes endpoints' ports as integers, so the broker must
// answer it in 2.14's shape (see endpointsSince in package osbapi).
func TestKubernetesOSBClientLifecycle(t *testing.T) {
	testenv.Docker(t).Standin(t, standin.Redis)
	services, err := os.ReadFile("testdata/services.json")
	if err != nil {
		t.Fatal(err)
	}
	b := brokertest.Start(t, services, func(c *broker.Config) {
		// Host ports of their own: other test binaries run beside this one.
		c.PortRange = [2]int{19000, 19499}
	})

	cfg := osb.DefaultClientConfiguration()
	cfg.Name = "kubernetes-service-catalog"
	cfg.URL = b.URL
	cfg.AuthConfig = &osb.AuthConfig{BasicAuthConfig: &osb.BasicAuthConfig{Username: brokertest.Username, Password: brokertest.Password}}
	if cfg.APIVersion != osb.Version2_14() {
		t.Fatalf("the client's default API version is %s; this test is about 2.14", cfg.APIVersion)
	}
	client, err := osb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Kubernetes' identity carries groups and "extra" claims: they must stay out of the log.
	const claim = "k8s-extra-claim-9f3e1c"
	identity := &osb.OriginatingIdentity{Platform: "kubernetes", Value: `{"username":"duke","uid":"c2dde242","groups":["dev"],"extra":{"token":["` + claim + `"]}}`}
	k8sContext := map[string]any{"platform": "kubernetes", "namespace": "default", "clusterid": "cluster-1"}

	catalog, err := client.GetCatalog()
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	var serviceID, planID string
	for _, s := range catalog.Services {
		for _, p := range s.Plans {
			if s.Name == "redis32" && p.Name == "free" {
				serviceID, planID = s.ID, p.ID
			}
		}
	}
	if serviceID == "" {
		t.Fatalf("no plan redis32/free in the catalog %+v", catalog.Services)
	}

	const instanceID, bindingID = "k8s-instance-1", "k8s-binding-1"
	provisioned, err := client.ProvisionInstance(&osb.ProvisionRequest{
		InstanceID: instanceID, AcceptsIncomplete: true, ServiceID: serviceID, PlanID: planID,
		OrganizationGUID: "cluster-1", SpaceGUID: "default", Context: k8sContext, OriginatingIdentity: identity,
	})
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	if !provisioned.Async {
		t.Fatalf("provision answered %+v, want an asynchronous operation", provisioned)
	}
	if state := pollLastOperation(t, client, instanceID, serviceID, planID, provisioned.OperationKey, identity); state != osb.StateSucceeded {
		t.Fatalf("provision ended %s\nbroker log:\n%s", state, b.Logs)
	}

	bound, err := client.Bind(&osb.BindRequest{
		InstanceID: instanceID, BindingID: bindingID, ServiceID: serviceID, PlanID: planID,
		Context: k8sContext, OriginatingIdentity: identity,
	})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	if bound.Async {
		t.Fatalf("bind answered %+v, want the credentials now", bound)
	}
	fetched, err := client.GetBinding(&osb.GetBindingRequest{InstanceID: instanceID, BindingID: bindingID})
	if err != nil {
		t.Fatalf("get binding: %v", err)
	}
	if fmt.Sprint(fetched.Credentials) != fmt.Sprint(bound.Credentials) {
		t.Errorf("get binding answered credentials %v, bind %v", fetched.Credentials, bound.Credentials)
	}

	host, _ := bound.Credentials["hostname"].(string)
	port, _ := bound.Credentials["port"].(string)
	password, _ := bound.Credentials["password"].(string)
	if host == "" || port == "" || password == "" {
		t.Fatalf("credentials %v lack hostname, port or password", bound.Credentials)
	}
	useRedis(t, net.JoinHostPort(host, port), password)

	unbound, err := client.Unbind(&osb.UnbindRequest{
		InstanceID: instanceID, BindingID: bindingID, ServiceID: serviceID, PlanID: planID, OriginatingIdentity: identity,
	})
	if err != nil || unbound.Async {
		t.Fatalf("unbind: %+v %v, want done now", unbound, err)
	}
	if _, err := client.GetBinding(&osb.GetBindingRequest{InstanceID: instanceID, BindingID: bindingID}); err == nil {
		t.Error("the binding is still there after unbind")
	}

	deprovisioned, err := client.DeprovisionInstance(&osb.DeprovisionRequest{
		InstanceID: instanceID, AcceptsIncomplete: true, ServiceID: serviceID, PlanID: planID, OriginatingIdentity: identity,
	})
	if err != nil {
		t.Fatalf("deprovision: %v", err)
	}
	if deprovisioned.Async {
		if state := pollLastOperation(t, client, instanceID, serviceID, planID, deprovisioned.OperationKey, identity); state != osb.StateSucceeded && state != "gone" {
			t.Fatalf("deprovision ended %s\nbroker log:\n%s", state, b.Logs)
		}
	}
	if c, ok := b.Containers(t)[instanceID]; ok {
		t.Errorf("container %s is left after deprovision", c.Name)
	}

	logs := b.Logs.String()
	for name, secret := range map[string]string{"the instance's password": password, "the identity's extra claim": claim, "the broker's password": brokertest.Password} {
		if strings.Contains(logs, secret) {
			t.Errorf("%s is in the broker's log", name)
		}
	}
	if !strings.Contains(logs, `"origin_username":"duke"`) {
		t.Errorf("the Kubernetes user is not in the broker's log:\n%s", logs)
	}
}

// pollLastOperation polls the instance's last operation as the client does until it ends, and
// returns its state ("gone" for a 410, which ends a deprovision).
func pollLastOperation(t *testing.T, client osb.Client, instanceID, serviceID, planID string, op *osb.OperationKey, identity *osb.OriginatingIdentity) osb.LastOperationState {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := client.PollLastOperation(&osb.LastOperationRequest{
			InstanceID: instanceID, ServiceID: &serviceID, PlanID: &planID, OperationKey: op, OriginatingIdentity: identity,
		})
		if osb.IsGoneError(err) {
			return "gone"
		}
		if err != nil {
			t.Fatalf("last operation of %s: %v", instanceID, err)
		}
		if resp.State != osb.StateInProgress {
			return resp.State
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the operation on %s is still in progress after 3 minutes", instanceID)
	return ""
}

// useRedis writes and reads a key at addr with password, as an app with the binding would.
func useRedis(t *testing.T, addr, password string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, Password: password})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key, value := "osb-client-test", base64.StdEncoding.EncodeToString([]byte(t.Name()))
	for {
		err := rdb.Set(ctx, key, value, 0).Err()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("redis at %s never accepted the binding's credentials: %v", addr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, err := rdb.Get(ctx, key).Result(); err != nil || got != value {
		t.Fatalf("redis GET %s = %q, %v; want %q", key, got, err, value)
	}
	// The password is what keeps others out.
	stranger := redis.NewClient(&redis.Options{Addr: addr, Password: "not-" + password})
	defer stranger.Close()
	if err := stranger.Get(ctx, key).Err(); err == nil {
		t.Error("redis answered a client with the wrong password")
	}
}
