// Package standin builds local stand-ins for the service images the broker runs (Redis,
// PostgreSQL, MariaDB) from Debian packages, for machines without an image registry.
//
// An image is a debootstrap'ed Debian root file system plus an entrypoint script that honours
// the environment contract of both the upstream official image (redis:7, postgres:15,
// mariadb:10.11) and the legacy frodenas image the original service files reference
// (frodenas/redis:3.2, frodenas/postgresql:9.6, frodenas/mysql:5.6). Archive writes it as a
// `docker save` archive, which any engine loads with POST /images/load (`docker load`); no
// engine is needed to build it. Archives are cached on disk, keyed by a hash of everything
// that defines the image, so a machine builds each recipe once.
package standin

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Suite is the Debian release the images are built from.
const Suite = "bookworm"

// DefaultMirror is the Debian archive used when $DEBIAN_MIRROR is not set.
const DefaultMirror = "http://deb.debian.org/debian"

// formatVersion is part of every cache key: bump it whenever the way an image is built or
// packed changes (cleanup rules, tar options, archive layout), so that old archives are rebuilt.
const formatVersion = 1

// EntrypointPath is where the recipe's entrypoint script lives in the image.
const EntrypointPath = "/usr/local/bin/docker-entrypoint.sh"

// Labels set on every stand-in image.
const (
	LabelName = "org.cloudfoundry-community.docker-broker.standin"     // the recipe name
	LabelKey  = "org.cloudfoundry-community.docker-broker.standin-key" // the cache key (hash12)
)

//go:embed entrypoints/*.sh
var entrypoints embed.FS

// Recipe describes one stand-in image built from Debian packages.
type Recipe struct {
	Name         string   // "redis", "postgresql", "mariadb"
	Tags         []string // image references the archive is tagged with; Tags[0] is the canonical one
	Packages     []string // Debian packages passed to debootstrap --include
	Entrypoint   string   // file name under entrypoints/
	Cmd          []string // the image's default CMD
	Env          []string // the image's ENV ("KEY=VALUE")
	ExposedPorts []string // e.g. "6379/tcp"
	WorkingDir   string   // the image's WORKDIR ("" is /)
	StopSignal   string   // the image's STOPSIGNAL ("" is the engine's default, SIGTERM)
	// Remove lists paths (shell globs, relative to the root file system) deleted after
	// debootstrap, e.g. the cluster a package's postinst created that the entrypoint must not
	// find in the image.
	Remove []string
}

const basePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Redis is redis-server 7.0 (Debian bookworm) answering to both the upstream redis:7 contract
// (arguments passed to redis-server) and the legacy frodenas/redis:3.2 one (REDIS_PASSWORD).
var Redis = Recipe{
	Name:         "redis",
	Tags:         []string{"frodenas/redis:3.2", "redis:7"},
	Packages:     []string{"redis-server"},
	Entrypoint:   "redis.sh",
	Cmd:          []string{"redis-server"},
	Env:          []string{basePath, "LANG=C.UTF-8"},
	ExposedPorts: []string{"6379/tcp"},
	WorkingDir:   "/data",
}

// PostgreSQL is PostgreSQL 15 (Debian bookworm) answering to both the upstream postgres:15
// contract (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA) and the legacy
// frodenas/postgresql:9.6 one (POSTGRES_USERNAME, POSTGRES_PASSWORD, POSTGRES_DBNAME, /data).
var PostgreSQL = Recipe{
	Name:       "postgresql",
	Tags:       []string{"frodenas/postgresql:9.6", "postgres:15"},
	Packages:   []string{"postgresql"},
	Entrypoint: "postgresql.sh",
	Cmd:        []string{"postgres"},
	Env: []string{
		"PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8",
	},
	ExposedPorts: []string{"5432/tcp"},
	// SIGINT is PostgreSQL's "fast" shutdown (as in the upstream image): SIGTERM ("smart")
	// would wait for every client to disconnect and be cut short by the engine's SIGKILL.
	StopSignal: "SIGINT",
	Remove: []string{
		"var/lib/postgresql/15", // the "main" cluster postgresql-common created
		"etc/postgresql/15",
		// The LLVM JIT provider and its libraries (~130 MB). Without them the server
		// silently runs without JIT.
		"usr/lib/postgresql/15/lib/llvmjit*",
		"usr/lib/postgresql/15/lib/bitcode",
		"usr/lib/x86_64-linux-gnu/libLLVM-*.so*",
		"usr/lib/x86_64-linux-gnu/libz3.so*",
		"usr/lib/aarch64-linux-gnu/libLLVM-*.so*",
		"usr/lib/aarch64-linux-gnu/libz3.so*",
	},
}

// MariaDB is MariaDB 10.11 (Debian bookworm) answering to both the upstream mariadb:10.11
// contract (MYSQL_*/MARIADB_* USER, PASSWORD, DATABASE, ROOT_PASSWORD) and the legacy
// frodenas/mysql:5.6 one (MYSQL_USERNAME, MYSQL_PASSWORD, MYSQL_DBNAME, /data).
var MariaDB = Recipe{
	Name:         "mariadb",
	Tags:         []string{"frodenas/mysql:5.6", "mariadb:10.11"},
	Packages:     []string{"mariadb-server"},
	Entrypoint:   "mariadb.sh",
	Cmd:          []string{"mariadbd"},
	Env:          []string{basePath, "LANG=C.UTF-8"},
	ExposedPorts: []string{"3306/tcp"},
	Remove: []string{
		"var/lib/mysql/*", // the system tables the package's postinst created
	},
}

// All returns every recipe.
func All() []Recipe {
	return []Recipe{Redis, PostgreSQL, MariaDB}
}

// CacheDir is where archives are cached: $DOCKER_BROKER_IMAGE_CACHE if set, else
// os.UserCacheDir()/docker-broker/standin-images.
func CacheDir() (string, error) {
	if dir := os.Getenv("DOCKER_BROKER_IMAGE_CACHE"); dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("stand-in image cache: %w (set DOCKER_BROKER_IMAGE_CACHE)", err)
	}
	return filepath.Join(base, "docker-broker", "standin-images"), nil
}

// entrypoint returns the recipe's entrypoint script.
func (r Recipe) entrypoint() ([]byte, error) {
	if r.Entrypoint == "" {
		return nil, fmt.Errorf("stand-in %q: no entrypoint", r.Name)
	}
	b, err := entrypoints.ReadFile("entrypoints/" + r.Entrypoint)
	if err != nil {
		return nil, fmt.Errorf("stand-in %q: entrypoint: %w", r.Name, err)
	}
	return b, nil
}

func (r Recipe) validate() error {
	switch {
	case r.Name == "":
		return errors.New("stand-in recipe without a name")
	case len(r.Tags) == 0:
		return fmt.Errorf("stand-in %q: no tags", r.Name)
	case len(r.Packages) == 0:
		return fmt.Errorf("stand-in %q: no packages", r.Name)
	}
	for _, c := range r.Name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("stand-in %q: the name may hold only [a-z0-9_.-]", r.Name)
		}
	}
	return nil
}

// key is the hex SHA-256 of everything that defines the recipe's image.
func (r Recipe) key() (string, error) {
	script, err := r.entrypoint()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(struct {
		Format     int
		Suite      string
		Arch       string
		Recipe     Recipe
		Entrypoint []byte
	}{formatVersion, Suite, runtime.GOARCH, r, script})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// archiveName is the cache file name of the recipe's archive: <name>-<hash12>.tar.
func (r Recipe) archiveName() (string, error) {
	if err := r.validate(); err != nil {
		return "", err
	}
	k, err := r.key()
	if err != nil {
		return "", err
	}
	return r.Name + "-" + k[:12] + ".tar", nil
}
