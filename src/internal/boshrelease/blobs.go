package boshrelease

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yamlv2 "gopkg.in/yaml.v2"
)

// Blob is an entry of config/blobs.yml: a file the packages take from blobs/, and where it is
// kept (object_id, empty until `bosh upload-blobs` has put it in the release blobstore).
type Blob struct {
	Size     int64  `yaml:"size"`
	ObjectID string `yaml:"object_id,omitempty"`
	SHA      string `yaml:"sha"` // "sha256:<hex>"
}

// Blobs reads the release's config/blobs.yml.
func Blobs(dir string) (map[string]Blob, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config", "blobs.yml"))
	if err != nil {
		return nil, err
	}
	blobs := map[string]Blob{}
	if err := yamlv2.Unmarshal(data, &blobs); err != nil {
		return nil, fmt.Errorf("config/blobs.yml: %w", err)
	}
	return blobs, nil
}

// AddBlob does what `bosh add-blob FILE NAME` does: copies file to blobs/NAME and records its
// size and sha256 in config/blobs.yml. Older versions of the blob, the entries whose names match
// replace (a glob such as "docker/docker-*.tgz"; empty replaces nothing), are removed first,
// from blobs.yml and from blobs/.
func AddBlob(dir, file, name, replace string) error {
	blobs, err := Blobs(dir)
	if err != nil {
		return err
	}
	for old := range blobs {
		if match, _ := filepath.Match(replace, old); match && old != name {
			delete(blobs, old)
			if err := os.Remove(filepath.Join(dir, "blobs", old)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	dst := filepath.Join(dir, "blobs", name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	size, sum, err := copyFile(file, dst)
	if err != nil {
		return err
	}
	blobs[name] = Blob{Size: size, SHA: "sha256:" + sum}
	data, err := yamlv2.Marshal(blobs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config", "blobs.yml"), append([]byte("---\n"), data...), 0o644)
}

// CheckBlobs verifies, as `bosh sync-blobs` leaves them, that every blob of config/blobs.yml is
// in blobs/ with its recorded size and sha256, and that blobs/ has no file blobs.yml does not
// list (a package glob could pick it up).
func CheckBlobs(dir string) error {
	blobs, err := Blobs(dir)
	if err != nil {
		return err
	}
	var problems []string
	names := make([]string, 0, len(blobs))
	for name := range blobs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		size, sum, err := hashFile(filepath.Join(dir, "blobs", name))
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
		case size != blobs[name].Size || "sha256:"+sum != blobs[name].SHA:
			problems = append(problems, fmt.Sprintf("%s: blobs/ holds another file than config/blobs.yml records", name))
		}
	}
	_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name, _ := filepath.Rel(filepath.Join(dir, "blobs"), path)
		if _, ok := blobs[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: in blobs/ but not in config/blobs.yml", name))
		}
		return nil
	})
	if len(problems) > 0 {
		return fmt.Errorf("blobs of %s (run scripts/add-blobs):\n  %s", dir, strings.Join(problems, "\n  "))
	}
	return nil
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

func copyFile(src, dst string) (int64, string, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, hex.EncodeToString(h.Sum(nil)), err
}
