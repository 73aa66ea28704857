// standin-images builds the stand-in service images (Redis, PostgreSQL, MariaDB from Debian
// packages) into the image cache, for the local run on machines that reach no image registry.
// It prints the cache directory, which docker-supervisor preloads (images.preload_dir).
// A development tool: it is not part of the BOSH release.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	for _, recipe := range standin.All() {
		if _, err := recipe.Archive(ctx, log); err != nil {
			log.Error("stand-in image not built", "image", recipe.Name, "error", err.Error())
			os.Exit(1)
		}
	}
	dir, err := standin.CacheDir()
	if err != nil {
		log.Error(err.Error())
		os.Exit(1)
	}
	fmt.Println(dir)
}
