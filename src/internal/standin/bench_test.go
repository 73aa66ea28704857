package standin_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// BenchmarkColdBuildAll builds every recipe's image into an empty cache (the base first, then
// the recipes, $STANDIN_BENCH_PARALLEL at a time, default standin.DefaultParallel), then looks
// them all up in the cache. It reports the seconds of the base and of the whole build, and
// the milliseconds of the cached lookup; the build's log (each image's duration) goes to
// stderr. It needs what a build needs (root, debootstrap, the Debian archive) and downloads
// every package again.
func BenchmarkColdBuildAll(b *testing.B) {
	parallel := standin.DefaultParallel
	if s := os.Getenv("STANDIN_BENCH_PARALLEL"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("STANDIN_BENCH_PARALLEL=%q: want a positive number", s)
		}
		parallel = n
	}
	if os.Geteuid() != 0 {
		b.Skip("building stand-in images needs root")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx := context.Background()
	for range b.N {
		b.Setenv("DOCKER_BROKER_IMAGE_CACHE", b.TempDir())
		start := time.Now()
		if err := standin.BuildBase(ctx, log); err != nil {
			b.Fatal(err)
		}
		base := time.Since(start)
		if _, err := standin.Archives(ctx, standin.All(), parallel, log); err != nil {
			b.Fatal(err)
		}
		total := time.Since(start)
		start = time.Now()
		if _, err := standin.Archives(ctx, standin.All(), parallel, log); err != nil {
			b.Fatal(err)
		}
		cached := time.Since(start)
		b.ReportMetric(base.Seconds(), "base-s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(float64(cached.Microseconds())/1000, "cached-ms")
		b.Logf("%d recipes, %d at a time: base %s, all %s; cached lookup %s", len(standin.All()), parallel,
			base.Round(time.Millisecond), total.Round(time.Millisecond), cached)
	}
}
