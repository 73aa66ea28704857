package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

var binaries struct {
	mu    sync.Mutex
	dir   string
	built map[string]string
}

// Binary builds the main package src/cmd/<name> of this module once per test binary and
// returns the path of the executable. Integration tests run the programs as operators do.
func Binary(name string) (string, error) {
	binaries.mu.Lock()
	defer binaries.mu.Unlock()
	if path, ok := binaries.built[name]; ok {
		return path, nil
	}
	if binaries.dir == "" {
		dir, err := os.MkdirTemp("", "dbt-bin-")
		if err != nil {
			return "", err
		}
		binaries.dir, binaries.built = dir, map[string]string{}
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(binaries.dir, name)
	cmd := exec.Command("go", "build", "-o", path, "./src/cmd/"+name)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./src/cmd/%s: %v\n%s", name, err, out)
	}
	binaries.built[name] = path
	return path, nil
}

// SupervisorBinary is Binary("docker-supervisor").
func SupervisorBinary() (string, error) { return Binary("docker-supervisor") }

// ModuleRoot is the directory of this module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the docker-broker module")
	}
	return filepath.Dir(gomod), nil
}

// removeBinaries deletes what Binary built; Main calls it when the tests are done.
func removeBinaries() {
	binaries.mu.Lock()
	defer binaries.mu.Unlock()
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
		binaries.dir, binaries.built = "", nil
	}
}
