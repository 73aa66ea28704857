package broker_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// extrasServices is a redis offering that uses every container extension an engine may need:
// limits, namespaced kernel parameters, a larger /dev/shm, an environment value made of the
// instance's address, and a config file holding the password, which reaches the container by no
// environment variable (the secret file of as_file is there only to have one generated).
const extrasServices = `[{"id": "extras", "name": "redis-tuned", "description": "Redis with kernel settings",
  "plans": [{"id": "extras-tuned", "name": "tuned", "description": "Tuned",
    "container": {"backend": "docker", "image": "redis", "tag": "7.4", "persistent_volumes": ["/data"],
      "command": ["/data/conf/redis.conf"],
      "ulimits": {"nofile": {"soft": 4096, "hard": 8192}, "memlock": {"soft": 1048576, "hard": 4194304}, "nproc": "2048", "core": -1},
      "sysctls": {"net.core.somaxconn": 1024, "kernel.shmmax": "68719476736", "fs.mqueue.msg_max": "100"},
      "shm_size": "256m",
      "environment": ["ADVERTISED={{.ExternalHost}}:{{.HostPort \"6379/tcp\"}}"],
      "files": [{"path": "/data/conf/redis.conf", "content": "requirepass {{.Password}}\nmaxclients 100\n"}]},
    "credentials": {"password": {"key": "GENERATED_PASSWORD_FILE", "as_file": true}, "uri": {"prefix": "redis", "port": "6379/tcp"}}}]}]`

// TestDockerdAppliesTheContainerExtensions provisions the offering above on dockerd 20.10 and
// reads, inside the container, what its processes got. The limits stay below the hard limits of
// the machines here, whose root lacks CAP_SYS_RESOURCE (runc then cannot raise one: "error
// setting rlimit type 8: operation not permitted" for memlock -1); a BOSH VM's root has it.
func TestDockerdAppliesTheContainerExtensions(t *testing.T) {
	h := startHarness(t, []byte(extrasServices), nil)
	const id = "tuned"
	h.provision(id, "extras", "extras-tuned")
	ctx := context.Background()
	shell := func(script string) string {
		t.Helper()
		out, err := h.Docker.Shell(ctx, "cf-"+id, script)
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		return out
	}

	// The limits of the service's own process (pid 1 is redis-server, exec'd by the entrypoint).
	limits := shell("cat /proc/1/limits")
	for _, want := range []string{`Max open files\s+4096\s+8192\s`, `Max locked memory\s+1048576\s+4194304\s`, `Max processes\s+2048\s+2048\s`, `Max core file size\s+unlimited\s+unlimited\s`} {
		if !regexp.MustCompile(want).MatchString(limits) {
			t.Errorf("no %q in /proc/1/limits:\n%s", want, limits)
		}
	}
	if got := shell("cat /proc/sys/net/core/somaxconn /proc/sys/kernel/shmmax /proc/sys/fs/mqueue/msg_max"); got != "1024\n68719476736\n100" {
		t.Errorf("sysctls %q", got)
	}
	if got := shell("grep ' /dev/shm ' /proc/mounts"); !strings.Contains(got, "size=262144k") {
		t.Errorf("/dev/shm: %s, want 256m", got)
	}

	_, creds := h.bind(id, "b1", "extras", "extras-tuned")
	if got := shell(`echo "$ADVERTISED"`); got != creds.Host+":"+creds.Port {
		t.Errorf("ADVERTISED=%q, want the address apps get, %s:%s", got, creds.Host, creds.Port)
	}
	// The password is the config file's, and in no variable of the container.
	if env := shell("env"); strings.Contains(env, creds.Password) {
		t.Errorf("the password is in the container's environment:\n%s", env)
	}
	client := redis.NewClient(&redis.Options{Addr: creds.Host + ":" + creds.Port, Password: creds.Password})
	defer client.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Errorf("ping with the binding's password: %v", err)
	}
	anonymous := redis.NewClient(&redis.Options{Addr: creds.Host + ":" + creds.Port})
	defer anonymous.Close()
	if err := anonymous.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("ping without a password: %v, want NOAUTH", err)
	}
}
