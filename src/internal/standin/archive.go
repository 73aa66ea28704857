package standin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Archive returns the path of a `docker save`-format archive (loadable by POST /images/load,
// i.e. `docker load`) of the recipe's image, building it first if the cache does not have it:
// Archives of the one recipe.
func (r Recipe) Archive(ctx context.Context, log *slog.Logger) (string, error) {
	paths, err := Archives(ctx, []Recipe{r}, 1, log)
	if err != nil {
		return "", err
	}
	return paths[0], nil
}

// DefaultParallel is how many images Archives builds at a time by default: apt waits for
// the disk and the network as much as for the processor, so two keep two cores busy.
const DefaultParallel = 2

// Archives returns the paths of the recipes' archives (as Archive does, in the order of
// recipes), building those the cache lacks, parallel (DefaultParallel if < 1) at a time, on
// the shared base (built first if the cache lacks it).
//
// Builds are serialised per recipe by an flock on <CacheDir>/<name>.lock, so test binaries
// running in parallel build each recipe once; the others wait and use the result. A build needs
// root, debootstrap, unshare, chroot and tar, and the Debian archive ($DEBIAN_MIRROR or
// DefaultMirror).
func Archives(ctx context.Context, recipes []Recipe, parallel int, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if parallel < 1 {
		parallel = DefaultParallel
	}
	dir, err := CacheDir()
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(recipes))
	var missing []int
	for i, r := range recipes {
		name, err := r.archiveName()
		if err != nil {
			return nil, err
		}
		paths[i] = filepath.Join(dir, name)
		if !isFile(paths[i]) {
			missing = append(missing, i)
		} else {
			markUsed(paths[i])
		}
	}
	if len(missing) == 0 {
		return paths, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("stand-in image cache: %w", err)
	}
	// The base first, so that the recipes' builds do not wait for it one after the other.
	if _, release, err := useBase(ctx, dir, log); err != nil {
		return nil, err
	} else {
		release()
	}
	errs := make([]error, len(recipes))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, i := range missing {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if errs[i] = context.Cause(ctx); errs[i] == nil {
				errs[i] = recipes[i].buildLocked(ctx, dir, paths[i], log)
			}
		}()
	}
	wg.Wait()
	return paths, errors.Join(errs...)
}

// buildLocked builds the recipe's archive at path under the recipe's lock, unless whoever
// held the lock before built it.
func (r Recipe) buildLocked(ctx context.Context, dir, path string, log *slog.Logger) error {
	unlock, err := lock(ctx, filepath.Join(dir, r.Name+".lock"), log.With("image", r.Name))
	if err != nil {
		return fmt.Errorf("stand-in %s: %w", r.Name, err)
	}
	defer unlock()
	if isFile(path) {
		return nil
	}
	removeLeftovers(dir, r.Name, log)
	b, release, err := useBase(ctx, dir, log)
	if err != nil {
		return fmt.Errorf("stand-in %s: %w", r.Name, err)
	}
	defer release()

	log.Info("building stand-in image", "image", r.Name, "tags", r.Tags, "packages", r.Packages, "archive", path)
	start := time.Now()
	if err := r.build(ctx, dir, path, b, log); err != nil {
		log.Error("building stand-in image failed", "image", r.Name, "duration", time.Since(start).Round(time.Millisecond), "error", err)
		return fmt.Errorf("stand-in %s: %w", r.Name, err)
	}
	size := int64(0)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	log.Info("built stand-in image", "image", r.Name, "archive", path, "bytes", size, "duration", time.Since(start).Round(time.Millisecond))
	removeStale(dir, r.Name, filepath.Base(path), log)
	return nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// lock takes an exclusive flock on path, waiting (while ctx allows) for another holder.
func lock(ctx context.Context, path string, log *slog.Logger) (unlock func(), err error) {
	return flock(ctx, path, syscall.LOCK_EX, log)
}

// flock takes an flock (how: syscall.LOCK_EX or LOCK_SH) on path, waiting (while ctx allows)
// for holders it conflicts with.
func flock(ctx context.Context, path string, how int, log *slog.Logger) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	waited := time.Time{}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if waited.IsZero() {
			waited = time.Now()
			log.Info("waiting for another build of the stand-in image", "lock", path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(250 * time.Millisecond):
		}
	}
	if !waited.IsZero() {
		log.Info("got the stand-in image lock", "lock", path, "waited", time.Since(waited).Round(time.Millisecond))
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// staleAfter is how long an archive of another key of a recipe stays in the cache unused: two
// checkouts of different versions on one machine (branches, worktrees) share the cache, and
// each would otherwise delete the other's archive at every build.
const staleAfter = 7 * 24 * time.Hour

// markUsed sets the archive's modification time to now: it is the time of its last use, which
// removeStale goes by.
func markUsed(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now) // at worst the archive is rebuilt a week from now
}

// removeStale deletes the recipe's archives of other keys that have not been used for
// staleAfter, once a new one is in place.
func removeStale(dir, name, keep string, log *slog.Logger) {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `-[0-9a-f]{12}\.tar$`)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name() == keep || !re.MatchString(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < staleAfter {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			log.Warn("removing stale stand-in archive", "archive", e.Name(), "error", err)
			continue
		}
		log.Info("removed stale stand-in archive", "archive", e.Name())
	}
}

// removeLeftovers deletes what an interrupted build of the recipe left in dir: the temporary
// archive and the work directory. Only called with the recipe's lock held.
func removeLeftovers(dir, name string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, tmpPrefix(name)) && !strings.HasPrefix(n, workPrefix(name)) {
			continue
		}
		if err := removeWorkDir(filepath.Join(dir, n)); err != nil {
			log.Warn("removing leftovers of an interrupted build", "path", n, "error", err)
			continue
		}
		log.Info("removed leftovers of an interrupted build", "path", n)
	}
}

func tmpPrefix(name string) string  { return "." + name + ".tmp-" }
func workPrefix(name string) string { return "." + name + ".build-" }

// removeWorkDir removes a build's work directory, first detaching anything mounted below it
// (an interrupted debootstrap leaves proc, sys or bind-mounted devices in the target), so that
// removal never reaches through a mount into the host's file systems.
func removeWorkDir(path string) error {
	mounts, err := mountsUnder(path)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("unmounting %s: %w", m, err)
		}
	}
	if mounts, err := mountsUnder(path); err != nil {
		return err
	} else if len(mounts) > 0 {
		return fmt.Errorf("not removing %s: %s is still mounted", path, mounts[0])
	}
	return os.RemoveAll(path)
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	// Deepest first, so that nested mounts come off before their parents.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// unescapeMountinfo decodes the octal escapes (\040 for a space, ...) of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}
