package broker

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// redisContainer is the `container` object of the redis plans with more keys, as the catalog
// reads it (templates are parsed at load, so a test cannot write them into a Container).
func redisContainer(t *testing.T, keys map[string]any) catalog.Container {
	t.Helper()
	container := map[string]any{"backend": "docker", "image": "frodenas/redis", "tag": "3.2", "persistent_volumes": []any{"/data"}}
	maps.Copy(container, keys)
	raw, err := json.Marshal([]any{map[string]any{"id": "s", "name": "s", "description": "s",
		// A password, so that files may use .Password; the test's plan sets its own credentials.
		"plans": []any{map[string]any{"id": "p", "name": "p", "description": "p", "container": container, "credentials": map[string]any{"password": map[string]any{}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	cat, warnings, err := catalog.Parse(raw)
	if err != nil || len(warnings) > 0 {
		t.Fatalf("container %s: %v %q", raw, err, warnings)
	}
	return cat.Services[0].Plans[0].Container
}

func TestContainerSpecCarriesLimitsAndTemplatedEnvironment(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		plan(c.Catalog, planTiny).Container = redisContainer(t, map[string]any{
			"ulimits":  map[string]any{"nofile": 65536, "memlock": map[string]any{"soft": -1, "hard": -1}},
			"sysctls":  map[string]any{"net.core.somaxconn": 1024},
			"shm_size": "256m",
			"environment": []any{
				`ADVERTISED=redis://{{.ExternalHost}}:{{.HostPort "6379/tcp"}}`,
				"NODE={{.ContainerName}}",
				"LEGACY=${HOME} {x}",
			},
		})
	})
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	spec := e.container("i1").Spec
	if want := []dockerengine.Ulimit{{Name: "memlock", Soft: -1, Hard: -1}, {Name: "nofile", Soft: 65536, Hard: 65536}}; !slices.Equal(spec.Ulimits, want) {
		t.Errorf("ulimits %v, want %v", spec.Ulimits, want)
	}
	if spec.Sysctls["net.core.somaxconn"] != "1024" || len(spec.Sysctls) != 1 || spec.ShmSize != 256<<20 {
		t.Errorf("sysctls %v, shm size %d", spec.Sysctls, spec.ShmSize)
	}
	// The port allocated to the instance, not one of the plan.
	c := e.container("i1")
	if v, _ := envOf(c, "ADVERTISED"); v != "redis://"+externalHost+":"+hostPort(t, inst, "6379/tcp") {
		t.Errorf("ADVERTISED=%q, want the external host and the instance's host port %s", v, inst.Ports["6379/tcp"])
	}
	if v, _ := envOf(c, "NODE"); v != "cf-i1" {
		t.Errorf("NODE=%q", v)
	}
	if v, _ := envOf(c, "LEGACY"); v != "${HOME} {x}" {
		t.Errorf("LEGACY=%q, want the value as written", v)
	}
}

func TestTemplateOfAPortTheImageDoesNotPublishFailsTheProvision(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		plan(c.Catalog, planTiny).Container = redisContainer(t, map[string]any{"environment": []any{`PORT={{.HostPort "9092"}}`}})
	})
	if _, err := e.provision(provisionReq("i1", svcRedis, planTiny, true)); err != nil {
		t.Fatal(err)
	}
	e.b.Wait()
	lo := e.lastOp("i1")
	if lo.State != store.Failed || !strings.Contains(lo.Description, "does not fit its image") || !strings.Contains(e.logs.String(), "publishes no port 9092/tcp") {
		t.Errorf("last operation %+v, want failed for the plan; log:\n%s", lo, e.logs)
	}
	e.noContainer("i1")
}

// A changed limit or rewritten file is a different container: an update must not adopt the old one.
func TestTheSpecDigestCoversLimitsAndRewrittenFiles(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	service, base, _ := e.cfg.Catalog.Plan(svcRedis, planTiny)
	digest := func(p catalog.Plan) string {
		t.Helper()
		spec, _, err := e.b.containerSpec(inst, service, p)
		if err != nil {
			t.Fatal(err)
		}
		return spec.Labels[LabelSpec]
	}
	if digest(base) != e.container("i1").Labels[LabelSpec] {
		t.Fatal("the digest of the same plan changed")
	}
	withFile := func(once bool, content string) catalog.Plan {
		p := base
		p.Container = redisContainer(t, map[string]any{"files": []any{map[string]any{"path": "/data/a.conf", "content": content, "once": once}}})
		return p
	}
	changes := map[string]func(p *catalog.Plan){
		"ulimits": func(p *catalog.Plan) {
			p.Container.Ulimits = []catalog.Ulimit{{Name: "nofile", Soft: 1024, Hard: 1024}}
		},
		"sysctls":  func(p *catalog.Plan) { p.Container.Sysctls = map[string]string{"net.core.somaxconn": "1024"} },
		"shm_size": func(p *catalog.Plan) { p.Container.ShmSize = 1 << 30 },
		"a file":   func(p *catalog.Plan) { *p = withFile(true, "x") },
	}
	for name, change := range changes {
		p := base
		change(&p)
		if digest(p) == digest(base) {
			t.Errorf("%s: same digest", name)
		}
	}
	if digest(withFile(false, "x")) == digest(withFile(false, "y")) {
		t.Error("the content of a rewritten file is not in the digest")
	}
	if digest(withFile(true, "x")) != digest(withFile(true, "y")) {
		t.Error("the content of a file written once is in the digest: a change would recreate the container for nothing")
	}
}

// filesEnv is a broker whose tiny redis plan runs as the image's user redis (999:1000) and
// writes a file once and one at every creation.
func filesEnv(t *testing.T) *env {
	return newEnv(t, func(c *Config, _ *fakeEngine) {
		plan(c.Catalog, planTiny).Container = redisContainer(t, map[string]any{
			"user": "redis",
			"files": []any{
				map[string]any{"path": "/data/users.acl", "content": "user default on >{{.Password}} ~* +@all\n"},
				map[string]any{"path": "/data/conf/redis.conf", "content": "# {{.ExternalHost}}:{{.HostPort \"6379\"}}\naclfile /data/users.acl\n", "mode": "0644", "once": false},
			},
		})
	})
}

func TestFilesAreWrittenBeforeTheStartAndOnceFilesKept(t *testing.T) {
	e := filesEnv(t)
	acl := filepath.Join(e.b.volumeDir("i1", "/data"), "users.acl")
	conf := filepath.Join(e.b.volumeDir("i1", "/data"), "conf", "redis.conf")
	e.engine.startFunc = func(_ context.Context, c *fakeContainer) error {
		if _, err := os.Stat(conf); err != nil {
			t.Errorf("the container starts before its files are written: %v", err)
		}
		return nil
	}
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	wantFile(t, acl, "user default on >"+inst.Credentials.Password+" ~* +@all\n", 0o600)
	wantFile(t, conf, "# "+externalHost+":"+hostPort(t, inst, "6379/tcp")+"\naclfile /data/users.acl\n", 0o644)
	if os.Geteuid() == 0 {
		for _, p := range []string{acl, conf, filepath.Dir(conf)} {
			if st := stat(t, p); st.Uid != 999 || st.Gid != 1000 {
				t.Errorf("%s owned by %d:%d, want the container's user 999:1000", p, st.Uid, st.Gid)
			}
		}
	}
	// The service changes both (Redis's ACL SAVE); a recreation keeps the one written once.
	for _, p := range []string{acl, conf} {
		if err := os.WriteFile(p, []byte("changed by the service\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"32mb"}`, false); err != nil {
		t.Fatal(err)
	}
	if n := e.engine.createCount(containerName("i1")); n != 2 {
		t.Fatalf("%d creates, want the update to recreate the container", n)
	}
	wantFile(t, acl, "changed by the service\n", 0o600)
	wantFile(t, conf, "# "+externalHost+":"+hostPort(t, inst, "6379/tcp")+"\naclfile /data/users.acl\n", 0o644)
	if entries, _ := os.ReadDir(filepath.Dir(conf)); len(entries) != 1 {
		t.Errorf("the conf directory holds %d entries, want the file alone (no temporary left)", len(entries))
	}
}

func TestFilesDoNotEscapeTheVolumeThroughSymlinks(t *testing.T) {
	e := filesEnv(t)
	outside := t.TempDir()
	hostFile := filepath.Join(outside, "shadow")
	if err := os.WriteFile(hostFile, []byte("the host's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// What a service could leave in its volume before a recreation: the file written at every
	// creation is a link to a host file, the one written once a link to where it would go.
	data := e.b.volumeDir("i1", "/data")
	if err := os.MkdirAll(filepath.Join(data, "conf"), 0o750); err != nil {
		t.Fatal(err)
	}
	plant(t, hostFile, filepath.Join(data, "conf", "redis.conf"))
	plant(t, filepath.Join(outside, "users.acl"), filepath.Join(data, "users.acl"))
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	wantFile(t, hostFile, "the host's\n", 0o600)
	if _, err := os.Lstat(filepath.Join(outside, "users.acl")); err == nil {
		t.Error("the file written once went through the link out of the volume")
	}
	// The link was replaced, not followed.
	wantFile(t, filepath.Join(data, "conf", "redis.conf"), "# "+externalHost+":"+hostPort(t, inst, "6379/tcp")+"\naclfile /data/users.acl\n", 0o644)

	// A directory of the path that is a link, even a relative one, fails the creation.
	if err := os.RemoveAll(filepath.Join(data, "conf")); err != nil {
		t.Fatal(err)
	}
	plant(t, "../..", filepath.Join(data, "conf"))
	if _, err := e.update("i1", "", `{"REDIS_MAXMEMORY":"32mb"}`, false); err == nil {
		t.Error("the update succeeded through a link in the volume")
	}
	if _, err := os.Lstat(filepath.Join(e.b.instanceDir("i1"), "..", "redis.conf")); err == nil {
		t.Error("a file was written out of the instance's directory")
	}
	if !strings.Contains(e.logs.String(), "conf is a symbolic link") {
		t.Errorf("the log does not say why:\n%s", e.logs)
	}
}

func plant(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != content || info.Mode() != mode {
		t.Errorf("%s: %q %v mode %v, want %q mode %v", path, data, err, info.Mode(), content, mode)
	}
}

func stat(t *testing.T, path string) *syscall.Stat_t {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t)
}

// A password without key (`password: {}`) is generated all the same and reaches the container
// through its files only: no variable holds it, and bindings still hand it out.
func TestPasswordWithoutKeyReachesFilesAndBindingsOnly(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *fakeEngine) {
		p := plan(c.Catalog, planTiny)
		p.Container = redisContainer(t, map[string]any{
			"files": []any{map[string]any{"path": "/data/users.acl", "content": "user default on >{{.Password}} ~* +@all\n"}},
		})
		p.Credentials.Password = &catalog.CredentialField{}
	})
	inst := e.mustProvision("i1", svcRedis, planTiny, "")
	password := inst.Credentials.Password
	if len(password) < 16 {
		t.Fatalf("password %q: want a generated one", password)
	}
	for _, entry := range e.container("i1").Spec.Env {
		if strings.Contains(entry, password) {
			t.Errorf("the container's environment holds the password (%s=...)", strings.SplitN(entry, "=", 2)[0])
		}
	}
	wantFile(t, filepath.Join(e.b.volumeDir("i1", "/data"), "users.acl"), "user default on >"+password+" ~* +@all\n", 0o600)
	resp, err := e.bind("i1", "b1", planTiny, "app-1")
	if err != nil {
		t.Fatal(err)
	}
	var creds struct{ Password, URI string }
	if err := json.Unmarshal(resp.Credentials, &creds); err != nil {
		t.Fatal(err)
	}
	if creds.Password != password || !strings.Contains(creds.URI, password) {
		t.Errorf("binding credentials: password %q, uri %q; want the instance's password in both", creds.Password, creds.URI)
	}
}
