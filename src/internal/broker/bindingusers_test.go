package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/osbapi"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// userCommands records the binding commands the fake engine ran and answers them through
// fail (nil: exit status 0). Health checks and other execs pass.
type userCommands struct {
	mu   sync.Mutex
	runs []dockerengine.Exec
	fail func(x dockerengine.Exec) dockerengine.ExecResult
}

func (u *userCommands) exec(_ context.Context, _ string, x dockerengine.Exec) (dockerengine.ExecResult, error) {
	if x.Cmd[0] != "create-user" && x.Cmd[0] != "drop-user" {
		return dockerengine.ExecResult{}, nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.runs = append(u.runs, x)
	if u.fail != nil {
		return u.fail(x), nil
	}
	return dockerengine.ExecResult{}, nil
}

// ran lists the binding commands run so far as "create-user <username>".
func (u *userCommands) ran() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, x := range u.runs {
		out = append(out, x.Cmd[0]+" "+envValue(x.Env, catalog.EnvBindingUsername))
	}
	return out
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// newUsersEnv is a broker whose redis plan tiny gives every binding a user of its own.
func newUsersEnv(t *testing.T) (*env, *userCommands) {
	t.Helper()
	commands := &userCommands{}
	e := newEnv(t, func(c *Config, engine *fakeEngine) {
		plan(c.Catalog, planTiny).Bindings = &catalog.Bindings{
			Create: []string{"create-user"}, Drop: []string{"drop-user"},
			Timeout: config.Duration(time.Second), Credentials: []string{"username", "password", "uri"},
		}
		engine.execFunc = commands.exec
	})
	return e, commands
}

func credentialsOf(t *testing.T, resp osbapi.BindResponse) map[string]string {
	t.Helper()
	var creds map[string]any
	if err := json.Unmarshal(resp.Credentials, &creds); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range creds {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func TestEveryBindingGetsAUserOfItsOwnAndUnbindDropsIt(t *testing.T) {
	e, commands := newUsersEnv(t)
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	first, err := e.bind("i1", "b1", planTiny, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.bind("i1", "b2", planTiny, "app-2")
	if err != nil {
		t.Fatal(err)
	}
	c1, c2 := credentialsOf(t, first), credentialsOf(t, second)
	if c1["username"] == "" || c1["username"] == c2["username"] || c1["password"] == c2["password"] {
		t.Errorf("two bindings got %q/%q and %q/%q, want two users", c1["username"], c1["password"], c2["username"], c2["password"])
	}
	if strings.Contains(string(first.Credentials), inst.Credentials.Password) || !strings.Contains(c1["uri"], c1["username"]+":"+c1["password"]+"@") {
		t.Errorf("credentials %s: want the binding's user in the uri and never the instance's password", first.Credentials)
	}
	if want := []string{"create-user " + c1["username"], "create-user " + c2["username"]}; !slices.Equal(commands.ran(), want) {
		t.Errorf("commands %q, want %q", commands.ran(), want)
	}
	// The secrets reach the command in its environment, never in its argv.
	x := commands.runs[0]
	if !slices.Equal(x.Cmd, []string{"create-user"}) || envValue(x.Env, catalog.EnvBindingPassword) != c1["password"] || envValue(x.Env, catalog.EnvInstancePassword) != inst.Credentials.Password {
		t.Errorf("create ran as %q with env %q", x.Cmd, x.Env)
	}
	if again, err := e.bind("i1", "b1", planTiny, "app-1"); err != nil || !again.AlreadyExists || string(again.Credentials) != string(first.Credentials) || len(commands.ran()) != 2 {
		t.Errorf("repeated bind: %s %v after %q, want the same user and no command", again.Credentials, err, commands.ran())
	}
	if err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"}); err != nil {
		t.Fatal(err)
	}
	if ran := commands.ran(); ran[len(ran)-1] != "drop-user "+c1["username"] {
		t.Errorf("unbind ran %q, want drop-user of the first binding's user", ran)
	}
	if _, found, _ := e.store.Binding("i1", "b1"); found {
		t.Error("the unbound binding's record remains")
	}
	if _, err := e.b.GetBinding(context.Background(), "i1", "b2"); err != nil {
		t.Errorf("the other binding: %v", err)
	}
	if strings.Contains(e.logs.String(), c1["password"]) || strings.Contains(e.logs.String(), c1["username"]) {
		t.Error("the log shows a binding's username or password")
	}
}

func TestFailedCreateUndoesTheUserAndTellsWhy(t *testing.T) {
	e, commands := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	commands.fail = func(x dockerengine.Exec) dockerengine.ExecResult {
		if x.Cmd[0] != "create-user" {
			return dockerengine.ExecResult{}
		}
		// What a failing client prints, secrets included.
		out := "connecting as " + envValue(x.Env, catalog.EnvInstanceUsername) + "\nERROR: syntax error creating " + envValue(x.Env, catalog.EnvBindingUsername) + " with " + envValue(x.Env, catalog.EnvBindingPassword) + "\n"
		return dockerengine.ExecResult{ExitCode: 3, Output: []byte(out)}
	}
	_, err := e.bind("i1", "b1", planTiny, "app")
	wantError(t, err, http.StatusInternalServerError, "", "could not be created", "exit status 3", "Nothing was kept")
	ran := commands.ran()
	if len(ran) != 2 || !strings.HasPrefix(ran[1], "drop-user ") || ran[1][len("drop-user "):] != ran[0][len("create-user "):] {
		t.Errorf("commands %q, want the failed user's drop after its create", ran)
	}
	if _, found, _ := e.store.Binding("i1", "b1"); found {
		t.Error("a failed bind left its record")
	}
	log := e.logs.String()
	username := ran[0][len("create-user "):]
	if strings.Contains(log, username) || !strings.Contains(log, "ERROR: syntax error creating [redacted] with [redacted]") {
		t.Errorf("the log must hold the command's output with its secrets redacted:\n%s", log)
	}
	// The platform binds again, and this time it works.
	commands.fail = nil
	if _, err := e.bind("i1", "b1", planTiny, "app"); err != nil {
		t.Errorf("bind after a failed one: %v", err)
	}
}

// On an engine of several machines, a bind on an instance whose machine is down says so.
func TestABindOnAMachineThatIsDownSaysSo(t *testing.T) {
	e, _ := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	e.engine.execFunc = func(_ context.Context, _ string, x dockerengine.Exec) (dockerengine.ExecResult, error) {
		if x.Cmd[0] == "create-user" {
			return dockerengine.ExecResult{}, fmt.Errorf("exec: service cf-i1: node n2 is down: %w", dockerengine.ErrNodeDown)
		}
		return dockerengine.ExecResult{}, nil
	}
	_, err := e.bind("i1", "b1", planTiny, "app")
	wantError(t, err, http.StatusInternalServerError, "", "could not be created", "the docker VM that holds the instance is down", "Nothing was kept")
}

func TestFailedDropKeepsTheBinding(t *testing.T) {
	e, commands := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	if _, err := e.bind("i1", "b1", planTiny, "app"); err != nil {
		t.Fatal(err)
	}
	commands.fail = func(dockerengine.Exec) dockerengine.ExecResult { return dockerengine.ExecResult{ExitCode: 1} }
	err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"})
	wantError(t, err, http.StatusInternalServerError, "", "could not be removed", "Unbind again")
	if _, found, _ := e.store.Binding("i1", "b1"); !found {
		t.Fatal("a binding whose user could not be dropped was forgotten: its credentials would work with no binding to revoke them")
	}
	commands.fail = nil
	if err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"}); err != nil {
		t.Errorf("unbind again: %v", err)
	}
}

func TestBindingBeingCreatedHoldsOffTheOtherRequests(t *testing.T) {
	e, commands := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	entered, release := make(chan struct{}), make(chan struct{})
	commands.fail = func(x dockerengine.Exec) dockerengine.ExecResult {
		if x.Cmd[0] == "create-user" {
			close(entered)
			<-release
		}
		return dockerengine.ExecResult{}
	}
	done := make(chan error)
	go func() {
		_, err := e.bind("i1", "b1", planTiny, "app")
		done <- err
	}()
	<-entered
	_, err := e.b.GetBinding(context.Background(), "i1", "b1")
	wantError(t, err, http.StatusNotFound, "")
	_, err = e.bind("i1", "b1", planTiny, "app")
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError, "creating its user")
	err = e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "b1"})
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	_, err = e.deprovision("i1", true)
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("bind: %v", err)
	}
	if _, err := e.b.GetBinding(context.Background(), "i1", "b1"); err != nil {
		t.Errorf("GET once made: %v", err)
	}
}

func TestHalfCreatedBindingIsDroppedOnceItsCommandHasEnded(t *testing.T) {
	e, commands := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	// What a broker killed while the create command ran leaves: a record still creating, and
	// the command, which outlives the broker, still running in the container.
	execID, err := e.engine.CreateExec(context.Background(), containerName("i1"), dockerengine.Exec{Cmd: []string{"create-user"}})
	if err != nil {
		t.Fatal(err)
	}
	e.engine.mu.Lock()
	e.engine.execStates[execID].state.Running = true
	e.engine.mu.Unlock()
	user := store.BindingUser{Username: "uhalfcreated0001", Password: "p"}
	if err := e.store.PutBinding(store.Binding{ID: "b1", InstanceID: "i1", ServiceID: svcRedis, PlanID: planTiny, AppGUID: "app", User: &user, Creating: true, CreateExec: execID}); err != nil {
		t.Fatal(err)
	}
	ended := time.Now().Add(300 * time.Millisecond)
	go func() {
		time.Sleep(time.Until(ended))
		e.engine.mu.Lock()
		e.engine.execStates[execID].state.Running = false
		e.engine.mu.Unlock()
	}()
	e.restart()
	_, err = e.bind("i1", "b1", planTiny, "app")
	wantError(t, err, http.StatusUnprocessableEntity, osbapi.CodeConcurrencyError)
	e.b.Wait()
	if ran := commands.ran(); !slices.Equal(ran, []string{"drop-user uhalfcreated0001"}) || time.Now().Before(ended) {
		t.Errorf("commands %q: want the half-created user dropped after its create command ended", ran)
	}
	if _, found, _ := e.store.Binding("i1", "b1"); found {
		t.Error("the half-created binding is still recorded")
	}
	report, _ := e.b.Reconciliation(context.Background())
	if got := report.(Reconciliation).DroppedHalfCreatedBindings; !slices.Equal(got, []string{"i1/b1"}) {
		t.Errorf("report lists %q", got)
	}
}

func TestRotationMakesANewUserAndKeepsThePredecessor(t *testing.T) {
	e, commands := newUsersEnv(t)
	e.mustProvision("i1", svcRedis, planTiny, "")
	e.mustProvision("i2", svcRedis, planFree, "")
	first, err := e.bind("i1", "b1", planTiny, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	rotate := func(instanceID, planID, bindingID, predecessor string) (osbapi.BindResponse, error) {
		return e.b.Bind(context.Background(), osbapi.BindRequest{InstanceID: instanceID, BindingID: bindingID, ServiceID: svcRedis, PlanID: planID, PredecessorBindingID: predecessor})
	}
	_, err = rotate("i1", planTiny, "b2", "nope")
	wantError(t, err, http.StatusBadRequest, "", "predecessor_binding_id", "does not exist")
	_, err = rotate("i2", planFree, "b2", "b1")
	wantError(t, err, http.StatusBadRequest, "", "not binding_rotatable")
	second, err := rotate("i1", planTiny, "b2", "b1")
	if err != nil {
		t.Fatal(err)
	}
	if credentialsOf(t, second)["username"] == credentialsOf(t, first)["username"] {
		t.Error("a rotated binding got its predecessor's user")
	}
	rotated, _, _ := e.store.Binding("i1", "b2")
	if rotated.AppGUID != "app-1" || rotated.PredecessorID != "b1" {
		t.Errorf("rotated binding %+v: want the predecessor's app and the predecessor recorded", rotated)
	}
	if _, err := e.b.GetBinding(context.Background(), "i1", "b1"); err != nil || len(commands.ran()) != 2 {
		t.Errorf("the predecessor must stay until it is unbound: %v, commands %q", err, commands.ran())
	}
}

func TestSecretsPassedAsFilesStayOutOfTheContainerSpec(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		p := plan(c.Catalog, planTiny)
		p.Credentials.Password.Key, p.Credentials.Password.AsFile = "REDIS_PASSWORD_FILE", true
		p.Container.Hostname = "redis"
	})
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	c := e.container("i1")
	spec, _ := json.Marshal(c.Spec)
	if strings.Contains(string(spec), inst.Credentials.Password) {
		t.Errorf("the container spec holds the password: %s", spec)
	}
	if v, _ := envOf(c, "REDIS_PASSWORD_FILE"); v != catalog.SecretPath("password") || c.Spec.Hostname != "redis" {
		t.Errorf("REDIS_PASSWORD_FILE=%q hostname %q", v, c.Spec.Hostname)
	}
	file := e.b.secretFile("i1", "password")
	if !slices.Contains(c.Spec.Binds, file+":/run/secrets/password:ro") {
		t.Errorf("binds %q: want the secret file mounted read-only", c.Spec.Binds)
	}
	data, err := os.ReadFile(file)
	fi, _ := os.Stat(file)
	if err != nil || string(data) != inst.Credentials.Password || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %q %v mode %v, want the password, 0600", data, err, fi.Mode())
	}
}

func TestBindingsMadeBeforeUsersOfTheirOwnKeepTheirCredentials(t *testing.T) {
	e, commands := newUsersEnv(t)
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	// A binding the broker answered before the plan had a bindings section: the instance's
	// credentials, no user of its own.
	old := store.Binding{ID: "old", InstanceID: "i1", ServiceID: svcRedis, PlanID: planTiny, AppGUID: "app",
		Response: json.RawMessage(`{"credentials":{"password":"` + inst.Credentials.Password + `"}}`)}
	if err := e.store.PutBinding(old); err != nil {
		t.Fatal(err)
	}
	e.restart()
	e.b.Wait()
	if again, err := e.bind("i1", "old", planTiny, "app"); err != nil || !again.AlreadyExists || string(again.Credentials) != `{"password":"`+inst.Credentials.Password+`"}` {
		t.Errorf("the old binding: %s %v, want its credentials as they were given", again.Credentials, err)
	}
	if err := e.b.Unbind(context.Background(), osbapi.UnbindRequest{InstanceID: "i1", BindingID: "old"}); err != nil {
		t.Fatal(err)
	}
	if ran := commands.ran(); len(ran) != 0 {
		t.Errorf("commands %q for a binding without a user of its own", ran)
	}
}
