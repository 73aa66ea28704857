// Package scripts_test proves the repository's scripts/ as a newcomer meets them: the README's
// commands (scripts/run, scripts/test) on a fresh Debian machine, as root or as a user with
// sudo, and what git ignores of what they build.
package scripts_test

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// securePath is the PATH sudo gives a command on Debian (secure_path in /etc/sudoers): no
// /usr/local/go/bin, where Go is usually installed.
const securePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nobody is the unprivileged user the scripts are run as.
const nobody = 65534

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fakeMachine is a copy of the scripts beside stand-ins for the programs they call, in
// directories every user may read: a fake sudo that records its command line, a go that
// records what it is asked to do instead of doing it, and dpkg-query and apt-get that find
// every package installed and must never install one.
type fakeMachine struct {
	repo string // scripts/, .ci/ and go.mod
	bin  string // sudo, go, gofmt, dpkg-query, apt-get
	log  string // directory of the fakes' records, writable by every user
}

func newFakeMachine(t *testing.T) fakeMachine {
	t.Helper()
	// Not t.TempDir(), whose parent only root may enter.
	dir, err := os.MkdirTemp("", "fake-machine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := fakeMachine{repo: filepath.Join(dir, "repo"), bin: filepath.Join(dir, "bin"), log: filepath.Join(dir, "log")}
	for _, d := range []string{dir, m.repo, m.bin, m.log} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(m.log, 0o777); err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	if out, err := exec.Command("cp", "-a", filepath.Join(root, "scripts"), filepath.Join(root, ".ci"), filepath.Join(root, "go.mod"), m.repo).CombinedOutput(); err != nil {
		t.Fatalf("copying the scripts: %v\n%s", err, out)
	}
	m.fakeGo(t, m.bin, "1.26.8")
	writeFake(t, m.bin, "sudo", `printf '%s\n' "$@" > `+m.log+`/sudo`)
	writeFake(t, m.bin, "dpkg-query", `echo installed`)
	writeFake(t, m.bin, "apt-get", `echo "apt-get $*" >> `+m.log+`/apt-get; exit 1`)
	return m
}

// writeFake writes an executable shell script name into dir.
func writeFake(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// fakeGo writes a go of version into dir that answers `go version` and records every other
// command line, with the user and its own path, in the log's go file; and a gofmt that finds
// nothing to change.
func (m fakeMachine) fakeGo(t *testing.T, dir, version string) {
	t.Helper()
	writeFake(t, dir, "go", `if [ "$1" = version ]; then echo "go version go`+version+` linux/amd64"; exit 0; fi
echo "$(id -u) $0 $*" >> `+m.log+`/go`)
	writeFake(t, dir, "gofmt", "")
}

// run runs a script of the copy (its path in the repository) with only env as its environment,
// as uid.
func (m fakeMachine) run(t *testing.T, uid uint32, env []string, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(filepath.Join(m.repo, script), args...)
	return m.exec(t, uid, env, cmd)
}

func (m fakeMachine) exec(t *testing.T, uid uint32, env []string, cmd *exec.Cmd) []byte {
	t.Helper()
	cmd.Env = env
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as uid %d: %v\n%s", strings.Join(cmd.Args, " "), uid, err, out)
	}
	return out
}

// records returns the lines a fake recorded, none if it never ran.
func (m fakeMachine) records(t *testing.T, fake string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(m.log, fake))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestScriptsRunThemselvesAsRootThroughSudoKeepingPATH: a user with sudo runs the README's
// commands as they are written. They need root (dockerd, apt-get), and sudo resets PATH to its
// secure_path, which lacks the user's Go: each script runs itself again through sudo with the
// user's PATH, and the go of that PATH then runs as root.
func TestScriptsRunThemselvesAsRootThroughSudoKeepingPATH(t *testing.T) {
	testenv.RequireRoot(t) // to run the scripts as another user
	for _, c := range []struct {
		script string
		args   []string
	}{{"scripts/test", []string{"-run", "X"}}, {"scripts/run", nil}, {"scripts/bench", nil}, {"scripts/install-prerequisites", nil}, {".ci/run", nil}} {
		t.Run(c.script, func(t *testing.T) {
			m := newFakeMachine(t)
			userPath := m.bin + ":/usr/bin:/bin"
			m.run(t, nobody, []string{"PATH=" + userPath, "HOME=/nonexistent", "CI=true"}, c.script, c.args...)
			argv := m.records(t, "sudo")
			self := append([]string{filepath.Join(m.repo, c.script)}, c.args...)
			if len(argv) < 2+len(self) || argv[0] != "env" || !slices.Contains(argv, "PATH="+userPath) || !slices.Contains(argv, "CI=true") ||
				!slices.Equal(argv[len(argv)-len(self):], self) {
				t.Fatalf("sudo ran %q; want env PATH=%s CI=true ... %s", argv, userPath, strings.Join(self, " "))
			}
			if c.script != "scripts/test" {
				return
			}
			// What sudo then does: the command line as root, with sudo's environment.
			m.exec(t, 0, []string{"PATH=" + securePath, "HOME=" + t.TempDir()}, exec.Command("/usr/bin/"+argv[0], argv[1:]...))
			m.checkTestsRanAsRoot(t, filepath.Join(m.bin, "go"))
		})
	}
}

// TestScriptsFindGoWhereInstallPrerequisitesPutsIt: `sudo make test` (or root whose PATH has
// an older Go, e.g. Debian's golang-go) still finds the Go that scripts/install-prerequisites
// installs into GO_DIR, rather than installing it again or running the old one.
func TestScriptsFindGoWhereInstallPrerequisitesPutsIt(t *testing.T) {
	testenv.RequireRoot(t) // the scripts run as root: else they would run themselves through sudo
	m := newFakeMachine(t)
	oldGo, goDir := filepath.Join(filepath.Dir(m.bin), "old"), filepath.Join(filepath.Dir(m.bin), "go")
	for _, d := range []string{oldGo, filepath.Join(goDir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m.fakeGo(t, oldGo, "1.19.8")
	m.fakeGo(t, filepath.Join(goDir, "bin"), "1.26.8")
	if err := os.Remove(filepath.Join(m.bin, "go")); err != nil {
		t.Fatal(err)
	}
	m.run(t, 0, []string{"PATH=" + oldGo + ":" + m.bin + ":" + securePath, "HOME=" + t.TempDir(), "GO_DIR=" + goDir}, "scripts/test", "-run", "X")
	m.checkTestsRanAsRoot(t, filepath.Join(goDir, "bin", "go"))
}

// checkTestsRanAsRoot checks that scripts/test -run X ran every go command through the go at
// goPath, as root, ending with the tests, and that nothing was installed.
func (m fakeMachine) checkTestsRanAsRoot(t *testing.T, goPath string) {
	t.Helper()
	got := m.records(t, "go")
	if want := "0 " + goPath + " test -race -count=1 -timeout 60m -run X ./..."; len(got) == 0 || got[len(got)-1] != want {
		t.Errorf("go ran %q; want last %q", got, want)
	}
	for _, line := range got {
		if !strings.HasPrefix(line, "0 "+goPath+" ") {
			t.Errorf("go command %q: not the go at %s as root", line, goPath)
		}
	}
	if got := m.records(t, "apt-get"); got != nil {
		t.Errorf("apt-get ran although every package and Go are installed: %q", got)
	}
}

// TestInstallPrerequisitesOnAFreshDebian runs scripts/install-prerequisites as root on a fresh
// Debian bookworm (debootstrap --variant=minbase, in a chroot with /proc) and then checks that
// what the README's commands run is there: the programs the scripts and the tests call, and a
// Go that builds this module with the race detector (cgo). It takes about three minutes, and needs
// Debian's archive and the Go module proxy, so a machine proves each version of the scripts once:
// the proof is kept in ~/.cache/docker-broker/fresh-debian/ under a hash of what it ran.
func TestInstallPrerequisitesOnAFreshDebian(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short mode: installs Debian packages into a fresh Debian")
	}
	testenv.RequireRoot(t)
	root := repoRoot(t)
	key := sha256.New()
	for _, f := range []string{"scripts/install-prerequisites", "scripts/machine.sh", "go.mod"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "go.mod" { // of which the scripts read the go version only
			data = regexp.MustCompile(`(?m)^go \S+$`).Find(data)
		}
		key.Write(data)
	}
	key.Write([]byte(standin.Suite))
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	proof := filepath.Join(cache, "docker-broker", "fresh-debian", hex.EncodeToString(key.Sum(nil))[:16])
	if data, err := os.ReadFile(proof); err == nil {
		t.Skipf("skipping: these scripts were proven on a fresh Debian %s (remove %s to prove them again)", strings.TrimSpace(string(data)), proof)
	}

	rootfs := filepath.Join(t.TempDir(), "rootfs")
	mirror := cmp.Or(os.Getenv("DEBIAN_MIRROR"), standin.DefaultMirror)
	if out, err := exec.Command("debootstrap", "--variant=minbase", standin.Suite, rootfs, mirror).CombinedOutput(); err != nil {
		t.Fatalf("debootstrap: %v\n%s", err, tail(out))
	}
	repo := filepath.Join(rootfs, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(root, "scripts"), filepath.Join(root, "go.mod"), repo).CombinedOutput(); err != nil {
		t.Fatalf("copying the scripts: %v\n%s", err, out)
	}
	// Packages must not start their daemons in the chroot (docker.io would start a dockerd of
	// the host's): Debian's way of saying so.
	if err := os.WriteFile(filepath.Join(rootfs, "usr/sbin/policy-rc.d"), []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The CAs this machine's network needs (a proxy that inspects TLS), which a fresh machine on
	// that network would trust too: ca-certificates takes them in when it is installed.
	localCAs := filepath.Join(rootfs, "usr/local/share/ca-certificates")
	if err := os.MkdirAll(localCAs, 0o755); err != nil {
		t.Fatal(err)
	}
	extraCAs, _ := filepath.Glob("/usr/local/share/ca-certificates/*.crt")
	for _, ca := range extraCAs {
		if out, err := exec.Command("cp", ca, localCAs).CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	goproxy, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + securePath, "HOME=/root", "GOPROXY=" + strings.TrimSpace(string(goproxy))}
	for _, v := range []string{"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"} {
		if value, ok := os.LookupEnv(v); ok {
			env = append(env, v+"="+value)
		}
	}
	// inChroot runs a bash script as root in the fresh Debian, with /proc mounted in a mount
	// namespace of its own (go finds its GOROOT through /proc/self/exe), which ends with it.
	inChroot := func(script string) {
		t.Helper()
		args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c",
			`mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/env -i "$@"`, rootfs}, env...)
		cmd := exec.Command("unshare", append(args, "/bin/bash", "-c", script)...)
		started := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, tail(out))
		}
		t.Logf("%s (%s):\n%s", script, time.Since(started).Round(time.Second), tail(out))
	}
	inChroot("/repo/scripts/install-prerequisites")
	inChroot(`set -euo pipefail
/repo/scripts/install-prerequisites --check
. /repo/scripts/machine.sh
use_go
for program in dockerd containerd runc debootstrap ip ruby curl make; do
  command -v "$program" >/dev/null || { echo "no $program"; exit 1; }
done
cd "$(mktemp -d)"
printf 'module probe\n\ngo %s\n' "$go_required" > go.mod
printf 'package main\n\nfunc main() { println("race detector: ok") }\n' > main.go
go run -race .`)

	if err := os.MkdirAll(filepath.Dir(proof), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(proof, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail returns the last lines of a command's output, where failures are explained.
func tail(out []byte) string {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-30):], []byte("\n")))
}

// TestGitIgnoresWhatGoBuildLeavesAtTheRoot: `go build ./src/cmd/<name>` at the repository's
// root writes the program <name> there; no such binary may be committed again.
func TestGitIgnoresWhatGoBuildLeavesAtTheRoot(t *testing.T) {
	root := repoRoot(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("skipping: no git")
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("skipping: not in a git checkout")
	}
	commands, err := os.ReadDir(filepath.Join(root, "src", "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		// check-ignore --no-index: whether the name is ignored, tracked or not.
		if err := exec.Command("git", "-C", root, "check-ignore", "-q", "--no-index", c.Name()).Run(); err != nil {
			t.Errorf("git does not ignore %s, which go build ./src/cmd/%s leaves at the root: add /%s to .gitignore", c.Name(), c.Name(), c.Name())
		}
	}
}
