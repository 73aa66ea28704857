package boshrelease_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

func TestMain(m *testing.M) {
	code := testenv.Main(m) // removes the binaries testenv.Binary built
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is the dev release of this repository, made once per test binary: a copy of the release
// directory with blobs from scripts/add-blobs --local, and its tarball.
var built struct {
	once    sync.Once
	dir     string // the copy of the release directory
	tarball string
	err     error
}

// devRelease returns the path of the dev release tarball, building it on first use. It needs
// what scripts/add-blobs --local needs: apt-get (Debian's archive) and the Go module proxy.
func devRelease(t *testing.T) string {
	t.Helper()
	requireMachine(t)
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "boshrelease-dev-")
		if built.err != nil {
			return
		}
		root := repoRoot(t)
		dir := filepath.Join(built.dir, "release")
		if built.err = os.MkdirAll(dir, 0o755); built.err != nil {
			return
		}
		for _, entry := range []string{"jobs", "packages", "src", "config", ".final_builds", "go.mod", "go.sum"} {
			if out, err := exec.Command("cp", "-a", filepath.Join(root, entry), dir).CombinedOutput(); err != nil {
				built.err = fmt.Errorf("copying %s: %v: %s", entry, err, out)
				return
			}
		}
		// The copy starts without blobs, whatever the working tree has.
		if built.err = os.WriteFile(filepath.Join(dir, "config", "blobs.yml"), []byte("--- {}\n"), 0o644); built.err != nil {
			return
		}
		if out, err := exec.Command(filepath.Join(root, "scripts", "add-blobs"), "--local", dir).CombinedOutput(); err != nil {
			built.err = fmt.Errorf("scripts/add-blobs --local: %v\n%s", err, out)
			return
		}
		built.tarball = filepath.Join(built.dir, "docker-broker-0+dev.1.tgz")
		tool, err := testenv.Binary("boshrelease")
		if err != nil {
			built.err = err
			return
		}
		create := exec.Command(tool, "create-dev-release", "-dir", dir, "-version", "0+dev.1", "-tarball", built.tarball)
		// bosh keeps the dev builds' archives in ~/.bosh/cache: a HOME of its own keeps the
		// tests' builds out of the developer's cache.
		create.Env = append(os.Environ(), "HOME="+built.dir)
		out, err := create.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("boshrelease create-dev-release: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.tarball
}

// requireMachine skips a test that builds the release or deploys it where that cannot be done:
// in -short mode, and where dockerd cannot run (building the blobs runs apt-get, as root too).
func requireMachine(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping in -short mode: builds a release and deploys it")
	}
	testenv.RequireRoot(t)
}

func TestDevReleaseTarball(t *testing.T) {
	tarball := devRelease(t)
	root := repoRoot(t)
	a, err := boshrelease.ExtractRelease(tarball, t.TempDir()) // verifies every archive's sha1
	if err != nil {
		t.Fatal(err)
	}
	mf := a.Manifest
	if mf.Name != "docker-broker" || mf.Version != "0+dev.1" {
		t.Errorf("release.MF names %s/%s, want docker-broker/0+dev.1", mf.Name, mf.Version)
	}

	var jobNames, pkgNames []string
	for _, j := range mf.Jobs {
		jobNames = append(jobNames, j.Name)
	}
	for _, p := range mf.Packages {
		pkgNames = append(pkgNames, p.Name)
	}
	if want := dirNames(t, filepath.Join(root, "jobs")); !slices.Equal(jobNames, want) {
		t.Errorf("jobs %v, want every job of jobs/: %v", jobNames, want)
	}
	if want := dirNames(t, filepath.Join(root, "packages")); !slices.Equal(pkgNames, want) {
		t.Errorf("packages %v, want every package of packages/: %v", pkgNames, want)
	}

	for _, j := range mf.Jobs {
		files := archiveFiles(t, filepath.Join(a.Dir, "jobs", j.Name+".tgz"))
		job, err := boshrelease.LoadJob(filepath.Join(root, "jobs", j.Name))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"job.MF", "monit"}
		for src := range job.Spec.Templates {
			want = append(want, "templates/"+src)
		}
		sort.Strings(want)
		if got := sortedKeys(files); !slices.Equal(got, want) {
			t.Errorf("job %s archive holds %v, want %v", j.Name, got, want)
		}
		spec, _ := os.ReadFile(filepath.Join(root, "jobs", j.Name, "spec"))
		if !bytes.Equal(files["job.MF"].data, spec) {
			t.Errorf("job %s: job.MF differs from jobs/%s/spec", j.Name, j.Name)
		}
		if fp := fingerprint(files, nil, ""); fp != j.Fingerprint || j.Version != j.Fingerprint {
			t.Errorf("job %s: fingerprint %s (version %s), computed from its files %s", j.Name, j.Fingerprint, j.Version, fp)
		}
	}

	for _, p := range mf.Packages {
		files := archiveFiles(t, filepath.Join(a.Dir, "packages", p.Name+".tgz"))
		if _, ok := files["packaging"]; !ok {
			t.Errorf("package %s has no packaging script", p.Name)
		}
		for name := range files {
			if strings.HasSuffix(name, "_test.go") || strings.Contains(name, "/testdata/") {
				t.Errorf("package %s holds %s, which its excluded_files leave out", p.Name, name)
			}
		}
		if fp := fingerprint(files, p.Dependencies, "packaging"); fp != p.Fingerprint || p.Version != p.Fingerprint {
			t.Errorf("package %s: fingerprint %s (version %s), computed from its files %s", p.Name, p.Fingerprint, p.Version, fp)
		}
	}
	pkgFiles := archiveFiles(t, filepath.Join(a.Dir, "packages", "docker-broker.tgz"))
	if !slices.ContainsFunc(sortedKeys(pkgFiles), func(n string) bool { return strings.HasPrefix(n, "docker-broker/modules-") }) {
		t.Error("package docker-broker lacks the module cache blob")
	}
}

// TestDockerBrokerPackageShipsWhatTheJobBinariesNeedAndNothingElse: the release carries the
// sources its packaging script compiles, and none of the tests' helpers or development tools,
// whatever packages are added to the module.
func TestDockerBrokerPackageShipsWhatTheJobBinariesNeedAndNothingElse(t *testing.T) {
	tarball := devRelease(t)
	a, err := boshrelease.ExtractRelease(tarball, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	needed := packagingSources(t)
	for _, name := range sortedKeys(archiveFiles(t, filepath.Join(a.Dir, "packages", "docker-broker.tgz"))) {
		if name == "packaging" || strings.HasPrefix(name, "docker-broker/modules-") {
			continue
		}
		if _, ok := needed[name]; ok {
			delete(needed, name)
		} else {
			t.Errorf("package docker-broker ships %s, which no program its packaging script builds needs", name)
		}
	}
	for _, name := range sortedKeys(needed) {
		t.Errorf("package docker-broker lacks %s, which %s needs", name, strings.Join(needed[name], " and "))
	}
}

// packagingSources maps each source file that packages/docker-broker/packaging compiles, as a
// path in the package (the release's src/ is the module's src/), to the programs that need it:
// the main module's files of every package the programs it builds (./src/cmd/...) import, as
// go build sees them on a compilation VM (linux/amd64, CGO_ENABLED=0 as the script sets).
func packagingSources(t *testing.T) map[string][]string {
	t.Helper()
	root := repoRoot(t)
	script, err := os.ReadFile(filepath.Join(root, "packages", "docker-broker", "packaging"))
	if err != nil {
		t.Fatal(err)
	}
	commands := slices.Compact(slices.Sorted(slices.Values(regexp.MustCompile(`\./src/cmd/[\w-]+`).FindAllString(string(script), -1))))
	if len(commands) == 0 {
		t.Fatal("packages/docker-broker/packaging builds no ./src/cmd/... program")
	}
	needed := map[string][]string{}
	for _, command := range commands {
		cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,CFiles,HFiles,SFiles,SysoFiles,EmbedFiles", command)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", command, err)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			var pkg struct {
				Dir                                                              string
				Module                                                           *struct{ Main bool }
				GoFiles, CgoFiles, CFiles, HFiles, SFiles, SysoFiles, EmbedFiles []string
			}
			if err := dec.Decode(&pkg); err != nil {
				t.Fatal(err)
			}
			if pkg.Module == nil || !pkg.Module.Main {
				continue // the standard library, or a module from the module cache blob
			}
			dir, err := filepath.Rel(filepath.Join(root, "src"), pkg.Dir)
			if err != nil || strings.HasPrefix(dir, "..") {
				t.Fatalf("package in %s lies outside src/, which is all the release carries of the module", pkg.Dir)
			}
			for _, files := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.CFiles, pkg.HFiles, pkg.SFiles, pkg.SysoFiles, pkg.EmbedFiles} {
				for _, f := range files {
					name := filepath.ToSlash(filepath.Join(dir, f))
					needed[name] = append(needed[name], filepath.Base(command))
				}
			}
		}
	}
	return needed
}

type archived struct {
	data []byte
	mode int64
}

// archiveFiles reads the regular files of a gzipped tar archive by their path.
func archiveFiles(t *testing.T, path string) map[string]archived {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]archived{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			data, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(hdr.Name, "./")] = archived{data, hdr.Mode}
		}
	}
}

// fingerprint computes a job's or package's fingerprint the way bosh does, independently of
// bosh-cli's code: sha256 of "v2", then for each file in path order its path, "sha256:" and the
// sha256 of its contents, and its mode as git knows it (100755 or 100644; none for the packaging
// hook), then the dependencies, comma-separated.
func fingerprint(files map[string]archived, deps []string, hook string) string {
	var b strings.Builder
	b.WriteString("v2")
	for _, name := range sortedKeys(files) {
		sum := sha256.Sum256(files[name].data)
		b.WriteString(name + "sha256:" + hex.EncodeToString(sum[:]))
		switch {
		case name == hook:
		case files[name].mode&0o111 != 0:
			b.WriteString("100755")
		default:
			b.WriteString("100644")
		}
	}
	if len(deps) > 0 {
		sorted := slices.Clone(deps)
		sort.Strings(sorted)
		b.WriteString(strings.Join(sorted, ","))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}
