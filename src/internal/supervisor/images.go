package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// preloadImages loads every image archive in images.preload_dir, in name order. A broken
// archive is logged and skipped: the others, and dockerd itself, are still useful.
func (s *Supervisor) preloadImages(ctx context.Context) {
	dir := s.cfg.Images.PreloadDir
	if dir == "" {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		s.log.Error("cannot read images.preload_dir; no image preloaded", "dir", dir, "error", err.Error())
		return
	}
	var archives []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".tar") || strings.HasSuffix(name, ".tar.gz") || strings.HasSuffix(name, ".tgz")) {
			archives = append(archives, filepath.Join(dir, name))
		}
	}
	sort.Strings(archives)
	failed := 0
	for _, path := range archives {
		if err := s.loadArchive(ctx, path); err != nil {
			failed++
			s.log.Error("image archive not loaded", "archive", path, "error", err.Error())
		}
	}
	s.log.Info("image archives preloaded", "dir", dir, "loaded", len(archives)-failed, "failed", failed)
}

func (s *Supervisor) loadArchive(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.engine.LoadImage(ctx, f, func(p dockerengine.Progress) {
		s.log.Info("image archive", "archive", filepath.Base(path), "status", p.Status)
	})
}

// pullImages pulls every image of images.pull, one after the other, logging progress.
// It runs after readiness in the background: a registry that is slow or down delays nothing
// but the pulls themselves. Failures are logged one by one and summed up at the end.
func (s *Supervisor) pullImages(ctx context.Context) {
	if len(s.cfg.Images.Pull) == 0 {
		return
	}
	var failed []string
	for _, ref := range s.cfg.Images.Pull {
		s.log.Info("pulling image", "image", ref)
		last := map[string]string{}
		err := s.engine.PullImage(ctx, ref, func(p dockerengine.Progress) {
			// Layers report "Downloading" many times a second; log each change of status once.
			if last[p.ID] != p.Status && !strings.HasPrefix(p.Status, "Downloading") && !strings.HasPrefix(p.Status, "Extracting") {
				last[p.ID] = p.Status
				s.log.Info("pull progress", "image", ref, "layer", p.ID, "status", p.Status)
			}
		})
		if err != nil {
			failed = append(failed, ref)
			s.log.Error("image pull failed", "image", ref, "error", err.Error())
			continue
		}
		s.log.Info("image pulled", "image", ref)
	}
	if len(failed) > 0 {
		s.log.Error("some images could not be pulled; services using them fail to provision until they can be pulled", "failed", strings.Join(failed, ","), "pulled", len(s.cfg.Images.Pull)-len(failed))
		return
	}
	s.log.Info("all images pulled", "count", len(s.cfg.Images.Pull))
}
