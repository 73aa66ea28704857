package boshrelease

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	bicrypto "github.com/cloudfoundry/bosh-cli/v7/crypto"
	boshrel "github.com/cloudfoundry/bosh-cli/v7/release"
	boshidx "github.com/cloudfoundry/bosh-cli/v7/releasedir/index"
	boshblob "github.com/cloudfoundry/bosh-utils/blobstore"
	boshcrypto "github.com/cloudfoundry/bosh-utils/crypto"
	boshfu "github.com/cloudfoundry/bosh-utils/fileutil"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
)

// CreateDevRelease builds a dev release tarball of the release directory dir at out, as
// `bosh create-release --tarball` does, with bosh-cli's own release code: job and package
// archives with bosh's fingerprints (the sha of each file list and contents), cached in the dev
// index (.dev_builds/ and ~/.bosh/cache) so an unchanged job or package is not archived again,
// release.MF with the name, version, commit hash and every job's and package's version,
// fingerprint, sha1 and dependencies, and the license if there is one. The blobs the packages
// name must be in dir/blobs/ (scripts/add-blobs puts them there). The final index
// (.final_builds/) is consulted as bosh does, but no blobstore is: a release whose final index
// lists builds missing from the local cache cannot be built here.
func CreateDevRelease(dir, name, version, out string) error {
	logger := boshlog.NewLogger(boshlog.LevelNone)
	fs := boshsys.NewOsFileSystem(logger)
	runner := boshsys.NewExecCmdRunner(logger)
	digests := bicrypto.NewDigestCalculator(fs, []boshcrypto.Algorithm{boshcrypto.DigestAlgorithmSHA256})
	provider := boshrel.NewProvider(runner, boshfu.NewTarballCompressor(runner, fs), digests, fs, logger)

	indices := boshidx.NewProvider(silentReporter{}, noBlobstore{}, fs)
	dev, final := indices.DevAndFinalIndicies(dir)
	rel, err := boshrel.NewBuiltReader(provider.NewMultiReader(dir), dev, final, 2).Read(dir)
	if err != nil {
		return fmt.Errorf("building the release from %s: %w", dir, err)
	}
	defer rel.CleanUp()
	commit, dirty := gitState(dir)
	rel.SetName(name)
	rel.SetVersion(version)
	rel.SetCommitHash(commit)
	rel.SetUncommittedChanges(dirty)

	path, err := provider.NewArchiveWriter().Write(rel, nil)
	if err != nil {
		return fmt.Errorf("writing the release tarball: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return boshfu.NewFileMover(fs).Move(path, out)
}

// gitState is the short commit hash of dir's repository and whether the tree has uncommitted
// changes, as bosh records them in release.MF ("non-git" outside a repository).
func gitState(dir string) (commit string, dirty bool) {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "non-git", false
	}
	status, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output()
	return strings.TrimSpace(string(out)), err != nil || len(strings.TrimSpace(string(status))) > 0
}

// silentReporter takes bosh-cli's progress reports about the dev and final indices.
type silentReporter struct{}

func (silentReporter) IndexEntryStartedAdding(string, string)           {}
func (silentReporter) IndexEntryFinishedAdding(string, string, error)   {}
func (silentReporter) IndexEntryDownloadStarted(string, string)         {}
func (silentReporter) IndexEntryDownloadFinished(string, string, error) {}
func (silentReporter) IndexEntryUploadStarted(string, string)           {}
func (silentReporter) IndexEntryUploadFinished(string, string, error)   {}

// noBlobstore stands for the release blobstore (config/final.yml), which dev releases do not
// use: bosh fetches from it only final builds missing from the local cache.
type noBlobstore struct{}

var errNoBlobstore = errors.New("this build does not reach the release blobstore: final builds must be in the local cache (~/.bosh/cache)")

func (noBlobstore) Get(string, boshcrypto.Digest) (string, error) { return "", errNoBlobstore }
func (noBlobstore) Delete(string) error                           { return errNoBlobstore }
func (noBlobstore) CleanUp(string) error                          { return nil }
func (noBlobstore) Create(string) (string, boshcrypto.MultipleDigest, error) {
	return "", boshcrypto.MultipleDigest{}, errNoBlobstore
}
func (noBlobstore) Validate() error { return nil }

var _ boshblob.DigestBlobstore = noBlobstore{}
