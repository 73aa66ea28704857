package boshrelease

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ReleaseManifest is a release tarball's release.MF.
type ReleaseManifest struct {
	Name               string            `yaml:"name"`
	Version            string            `yaml:"version"`
	CommitHash         string            `yaml:"commit_hash"`
	UncommittedChanges bool              `yaml:"uncommitted_changes"`
	Jobs               []ArchivedJob     `yaml:"jobs"`
	Packages           []ArchivedPackage `yaml:"packages"`
	License            *ArchivedLicense  `yaml:"license"`
}

// ArchivedJob is a job of release.MF.
type ArchivedJob struct {
	Name        string   `yaml:"name"`
	Version     string   `yaml:"version"`
	Fingerprint string   `yaml:"fingerprint"`
	SHA1        string   `yaml:"sha1"`
	Packages    []string `yaml:"packages"`
}

// ArchivedPackage is a package of release.MF.
type ArchivedPackage struct {
	Name         string   `yaml:"name"`
	Version      string   `yaml:"version"`
	Fingerprint  string   `yaml:"fingerprint"`
	SHA1         string   `yaml:"sha1"`
	Dependencies []string `yaml:"dependencies"`
}

// ArchivedLicense is the license entry of release.MF.
type ArchivedLicense struct {
	Version     string `yaml:"version"`
	Fingerprint string `yaml:"fingerprint"`
	SHA1        string `yaml:"sha1"`
}

// ReleaseArchive is a release tarball extracted as a director takes it in: release.MF, every
// job archive unpacked into jobs/<name>/ (job.MF, monit, templates/), the package archives kept
// as packages/<name>.tgz.
type ReleaseArchive struct {
	Dir      string
	Manifest ReleaseManifest
}

// ExtractRelease extracts tarball into dir (created) and checks every job and package archive
// against the sha1 release.MF records, as a director does on upload.
func ExtractRelease(tarball, dir string) (ReleaseArchive, error) {
	if err := untar(tarball, dir); err != nil {
		return ReleaseArchive{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "release.MF"))
	if err != nil {
		return ReleaseArchive{}, err
	}
	a := ReleaseArchive{Dir: dir}
	if err := yaml.Unmarshal(data, &a.Manifest); err != nil {
		return ReleaseArchive{}, fmt.Errorf("release.MF: %w", err)
	}
	for _, j := range a.Manifest.Jobs {
		archive := filepath.Join(dir, "jobs", j.Name+".tgz")
		if err := verifyDigest(archive, j.SHA1); err != nil {
			return ReleaseArchive{}, err
		}
		if err := untar(archive, filepath.Join(dir, "jobs", j.Name)); err != nil {
			return ReleaseArchive{}, err
		}
	}
	for _, p := range a.Manifest.Packages {
		if err := verifyDigest(filepath.Join(dir, "packages", p.Name+".tgz"), p.SHA1); err != nil {
			return ReleaseArchive{}, err
		}
	}
	return a, nil
}

// verifyDigest checks a file against a release.MF digest: "sha256:<hex>" or a bare sha1.
func verifyDigest(path, digest string) error {
	var h hash.Hash
	want := digest
	if rest, ok := strings.CutPrefix(digest, "sha256:"); ok {
		h, want = sha256.New(), rest
	} else {
		h = sha1.New()
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%s: digest %s, release.MF says %s", filepath.Base(path), got, digest)
	}
	return nil
}

// untar extracts a gzipped tar archive into dir, refusing entries that would land outside it.
func untar(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		target := filepath.Join(dir, hdr.Name)
		if target != filepath.Clean(dir) && !within(target, filepath.Clean(dir)) {
			return fmt.Errorf("%s: entry %s leaves the directory", archive, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, os.FileMode(hdr.Mode)&0o777)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(hdr.Linkname, target)
			}
		default:
			err = fmt.Errorf("entry %s has unsupported type %c", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
	}
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Jobs loads the release's jobs from their archives.
func (a ReleaseArchive) Jobs() (map[string]Job, error) { return LoadJobs(a.Dir) }

// Compile compiles the release's packages as a director's compilation VMs do, dependencies
// first, into packagesDir/<name> (BOSH_PACKAGES_DIR: a VM's /var/vcap/packages). Each package's
// archive is extracted into a fresh compile directory and its packaging script run there by
// bash with BOSH_COMPILE_TARGET, BOSH_INSTALL_TARGET, BOSH_PACKAGE_NAME, BOSH_PACKAGE_VERSION and
// BOSH_PACKAGES_DIR, and nothing of this process's environment but a plain PATH: a packaging
// script that needs the network or a tool of the developer's environment fails here as on a
// compilation VM. The scripts' output goes to log. It returns the package names in the order
// compiled.
func (a ReleaseArchive) Compile(packagesDir string, log io.Writer) ([]string, error) {
	order, err := a.compileOrder()
	if err != nil {
		return nil, err
	}
	for _, p := range order {
		compileDir := filepath.Join(a.Dir, "compile", p.Name)
		install := filepath.Join(packagesDir, p.Name)
		if err := untar(filepath.Join(a.Dir, "packages", p.Name+".tgz"), compileDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(install, 0o755); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "== compiling %s/%s\n", p.Name, p.Version)
		cmd := exec.Command("bash", "-x", "packaging")
		cmd.Dir = compileDir
		cmd.Env = []string{
			"PATH=" + basePath,
			"HOME=" + compileDir,
			"BOSH_COMPILE_TARGET=" + compileDir,
			"BOSH_INSTALL_TARGET=" + install,
			"BOSH_PACKAGE_NAME=" + p.Name,
			"BOSH_PACKAGE_VERSION=" + p.Version,
			"BOSH_PACKAGES_DIR=" + packagesDir,
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("compiling package %s: packaging failed: %w", p.Name, err)
		}
	}
	names := make([]string, len(order))
	for i, p := range order {
		names[i] = p.Name
	}
	return names, nil
}

// compileOrder sorts the packages so that each comes after its dependencies.
func (a ReleaseArchive) compileOrder() ([]ArchivedPackage, error) {
	byName := map[string]ArchivedPackage{}
	for _, p := range a.Manifest.Packages {
		byName[p.Name] = p
	}
	var order []ArchivedPackage
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		p, ok := byName[name]
		if !ok {
			return fmt.Errorf("package %s, a dependency of %s, is not in the release", name, strings.Join(path, " <- "))
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("packages depend on each other in a cycle: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		for _, dep := range p.Dependencies {
			if err := visit(dep, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, p)
		return nil
	}
	for _, p := range a.Manifest.Packages {
		if err := visit(p.Name, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
