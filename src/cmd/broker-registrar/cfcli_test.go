package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// cfModule is the cf CLI's module; tools/cf/go.mod pins its version.
const cfModule = "code.cloudfoundry.org/cli/v8"

var cfBuild struct {
	once sync.Once
	path string
	err  error
}

// cfCLI returns the path of the real cf CLI, built from tools/cf. A build takes a few
// minutes, so the binary is kept in the user cache dir under the pinned version
// (~/.cache/docker-broker/cf-cli/<version>/cf) and a machine builds each version once.
func cfCLI(t *testing.T) string {
	t.Helper()
	cfBuild.once.Do(func() { cfBuild.path, cfBuild.err = buildCF(t) })
	if cfBuild.err != nil {
		t.Fatalf("building the cf CLI: %v", cfBuild.err)
	}
	return cfBuild.path
}

func buildCF(t *testing.T) (string, error) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return "", err
	}
	toolsDir := filepath.Join(root, "tools", "cf")
	version, err := pinnedVersion(filepath.Join(toolsDir, "go.mod"), cfModule)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cache, "docker-broker", "cf-cli", version, "cf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	// Build beside the final path and rename, so that a test binary killed mid-build (or
	// another one building at the same time) never leaves a half-written cf behind.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	started := time.Now()
	cmd := exec.Command("go", "build", "-o", tmp,
		"-ldflags", "-X "+cfModule+"/version.binaryVersion="+strings.TrimPrefix(version, "v"), cfModule)
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s@%s: %v\n%s", cfModule, version, err, out)
	}
	t.Logf("built the cf CLI %s in %s (cached at %s)", version, time.Since(started).Round(time.Second), path)
	return path, os.Rename(tmp, path)
}

// pinnedVersion reads the version go.mod requires module at.
func pinnedVersion(gomod, module string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(scanner.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1], nil
		}
	}
	return "", fmt.Errorf("%s does not require %s", gomod, module)
}

// cfSession runs the cf CLI with its own CF_HOME, as one user at one terminal.
type cfSession struct {
	t    *testing.T
	bin  string
	home string
}

func newCFSession(t *testing.T) *cfSession {
	return &cfSession{t: t, bin: cfCLI(t), home: t.TempDir()}
}

// run runs cf with args, logs the command and its output as a terminal shows them (with
// secrets masked in the logged command line), and returns the output and exit error.
func (s *cfSession) run(masked []string, args ...string) (string, error) {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(), "CF_HOME="+s.home, "CF_COLOR=false", "CF_PLUGIN_HOME="+s.home)
	out, err := cmd.CombinedOutput()
	shown := "$ cf " + strings.Join(args, " ")
	for _, secret := range masked {
		shown = strings.ReplaceAll(shown, secret, "********")
	}
	s.t.Logf("%s\n%s", shown, out)
	return string(out), err
}

// must runs cf and fails the test if it fails.
func (s *cfSession) must(args ...string) string {
	s.t.Helper()
	out, err := s.run(nil, args...)
	if err != nil {
		s.t.Fatalf("cf %s: %v", strings.Join(args, " "), err)
	}
	return out
}
