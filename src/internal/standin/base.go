package standin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// base is the Debian root file system every image starts from, shared by all recipes: built
// once (debootstrap, then `apt-get update`) into <CacheDir>/base-<hash12>/, it holds
//
//	rootfs/     the root file system as debootstrap left it, with apt's package lists: what a
//	            recipe's build copies and installs its packages into
//	layer.tar   the first layer of every image: rootfs after the cleanup, identical bytes for
//	            every recipe, so that an engine stores it once
//	debs/       the packages the recipes' builds downloaded, so that each is downloaded once
//
// The directory appears complete or not at all (it is built under another name and renamed).
// <CacheDir>/base.lock guards it: recipe builds hold it shared while they use a base, building
// or removing a base takes it exclusively.
type base struct {
	dir string
}

func (b base) rootfs() string   { return filepath.Join(b.dir, "rootfs") }
func (b base) layer() string    { return filepath.Join(b.dir, "layer.tar") }
func (b base) debs() string     { return filepath.Join(b.dir, "debs") }
func (b base) debsLock() string { return filepath.Join(b.dir, "debs.lock") }

// baseKey is the hex SHA-256 of everything that defines the base.
func baseKey() (string, error) {
	b, err := json.Marshal(struct {
		Format int
		Suite  string
		Arch   string
		Mirror string
	}{formatVersion, Suite, runtime.GOARCH, mirror()})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// baseName is the cache directory name of the base of this machine's settings.
func baseName() (string, error) {
	k, err := baseKey()
	if err != nil {
		return "", err
	}
	return "base-" + k[:12], nil
}

// buildOnly are the files the builds put into the root file system to install packages
// quickly and quietly; the cleanup drops them from the images.
var buildOnly = map[string]string{
	// dpkg without an fsync per file: a crashed build is thrown away anyway.
	"etc/dpkg/dpkg.cfg.d/docker-broker-standin": "force-unsafe-io\n",
	// No daemon starts from a package's maintainer scripts (invoke-rc.d asks this first).
	"usr/sbin/policy-rc.d": "#!/bin/sh\nexit 101\n",
	// No translations of the package lists: nothing reads them.
	"etc/apt/apt.conf.d/99docker-broker-standin": "Acquire::Languages \"none\";\nDpkg::Use-Pty \"false\";\n",
}

// useBase returns the base, building it first if the cache lacks it, with the shared lock
// held: release lets go of it.
func useBase(ctx context.Context, dir string, log *slog.Logger) (b base, release func(), err error) {
	name, err := baseName()
	if err != nil {
		return base{}, nil, err
	}
	b = base{dir: filepath.Join(dir, name)}
	lockPath := filepath.Join(dir, "base.lock")
	for {
		unlock, err := flock(ctx, lockPath, syscall.LOCK_SH, log)
		if err != nil {
			return base{}, nil, fmt.Errorf("stand-in base: %w", err)
		}
		if isDir(b.dir) {
			return b, unlock, nil
		}
		unlock()
		if err := buildBaseLocked(ctx, dir, b, lockPath, log); err != nil {
			return base{}, nil, err
		}
	}
}

// buildBaseLocked builds the base under the exclusive lock, unless someone did meanwhile.
func buildBaseLocked(ctx context.Context, dir string, b base, lockPath string, log *slog.Logger) error {
	unlock, err := flock(ctx, lockPath, syscall.LOCK_EX, log)
	if err != nil {
		return fmt.Errorf("stand-in base: %w", err)
	}
	defer unlock()
	if isDir(b.dir) {
		return nil
	}
	// Nobody uses any base now: any other is stale or left by an interrupted build.
	removeBases(dir, log)
	log.Info("building the stand-in images' base", "base", b.dir, "suite", Suite, "mirror", mirror())
	start := time.Now()
	if err := buildBase(ctx, dir, b, log); err != nil {
		log.Error("building the stand-in images' base failed", "duration", time.Since(start).Round(time.Millisecond), "error", err)
		return fmt.Errorf("stand-in base: %w", err)
	}
	log.Info("built the stand-in images' base", "base", b.dir, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

var baseDirRE = regexp.MustCompile(`^\.?base-[0-9a-f]{12}(\.build-.*)?$`)

// removeBases deletes every base (and base build leftover) in dir. Only called with the
// exclusive base lock held.
func removeBases(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !baseDirRE.MatchString(e.Name()) {
			continue
		}
		if err := removeWorkDir(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("removing a stale stand-in base", "path", e.Name(), "error", err)
			continue
		}
		log.Info("removed a stale stand-in base", "path", e.Name())
	}
}

// buildBase debootstraps the base in a work directory and renames it into place.
func buildBase(ctx context.Context, dir string, b base, log *slog.Logger) (err error) {
	if err := checkBuildTools(); err != nil {
		return err
	}
	work, err := os.MkdirTemp(dir, "."+filepath.Base(b.dir)+".build-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = removeWorkDir(work)
		}
	}()
	logPath := filepath.Join(work, "build.log")
	rootfs := filepath.Join(work, "rootfs")
	start := time.Now()
	step := func(msg string) {
		log.Info(msg, "duration", time.Since(start).Round(time.Millisecond))
		start = time.Now()
	}
	// The first stage only downloads and unpacks; the second runs the maintainer scripts in
	// the chroot, isolated, and already with buildOnly's settings.
	if err := run(ctx, logPath, "debootstrap", "--variant=minbase", "--foreign", Suite, rootfs, mirror()); err != nil {
		return err
	}
	step("base: debootstrap's first stage done")
	for name, content := range buildOnly {
		if err := writeFile(rootfs, name, content); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "usr/sbin/policy-rc.d"), 0o755); err != nil {
		return err
	}
	if err := isolated(ctx, logPath, rootfs, `
chroot "$root" /debootstrap/debootstrap --second-stage
copy_resolv_conf
chroot "$root" apt-get update
`); err != nil {
		return err
	}
	step("base: second stage and apt-get update done")
	if err := os.MkdirAll(filepath.Join(work, "debs", "partial"), 0o755); err != nil {
		return err
	}

	// The layer: a copy of rootfs as every image has it.
	clean := filepath.Join(work, "clean")
	if err := run(ctx, logPath, "cp", "-a", "--", rootfs, clean); err != nil {
		return err
	}
	if err := cleanRootfs(clean, nil); err != nil {
		return err
	}
	if _, err := layerTar(ctx, clean, filepath.Join(work, "layer.tar")); err != nil {
		return err
	}
	if err := removeWorkDir(clean); err != nil {
		return err
	}
	step("base: layer written")
	return os.Rename(work, b.dir)
}

func checkBuildTools() error {
	if os.Geteuid() != 0 {
		return errors.New("building a stand-in image needs root (debootstrap, chroot)")
	}
	for _, tool := range []string{"debootstrap", "tar", "unshare", "chroot", "flock", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("building a stand-in image needs %s (apt-get install -y debootstrap util-linux coreutils tar): %w", tool, err)
		}
	}
	return nil
}

// isolatedPrelude starts every script run by isolated: $root is the root file system; /proc
// and the devices apt and maintainer scripts use are mounted into it, in the private mount
// namespace only.
const isolatedPrelude = `set -eu
root=$1; shift
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0755,nosuid dev "$root/dev"
for d in null zero full random urandom tty; do
	touch "$root/dev/$d"
	mount --bind "/dev/$d" "$root/dev/$d"
done
ln -s /proc/self/fd "$root/dev/fd"
copy_resolv_conf() {
	rm -f "$root/etc/resolv.conf"
	cat /etc/resolv.conf > "$root/etc/resolv.conf"
}
`

// isolated runs script (after isolatedPrelude; "$@" are args) in private mount and PID
// namespaces: nothing it mounts reaches the host's mount table, and no process it starts (a
// daemon a maintainer script starts despite policy-rc.d) outlives it. Its output goes to
// logPath.
func isolated(ctx context.Context, logPath, rootfs, script string, args ...string) error {
	return run(ctx, logPath, "unshare", append([]string{"--mount", "--propagation=private", "--pid", "--fork", "--kill-child",
		"sh", "-c", isolatedPrelude + script, "sh", rootfs}, args...)...)
}

// run runs a build command with its output appended to logPath; the tail of it is in the
// error if it fails.
func run(ctx context.Context, logPath, name string, args ...string) error {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "+ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// Its own process group, so that a cancelled build stops dpkg and friends too; SIGTERM
	// first, so that debootstrap's exit handler can unmount what it mounted.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Run(); err != nil {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", name, context.Cause(ctx))
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(logPath, 20))
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
