// boshrelease does for this repository what the bosh CLI does for a release directory, on
// machines where the bosh CLI cannot be installed (it is built from bosh-cli's own packages):
//
//	boshrelease create-dev-release [-dir DIR] [-version VERSION] [-tarball PATH]
//	    build a dev release tarball, as `bosh create-release --tarball PATH`
//	boshrelease add-blob [-dir DIR] [-replace GLOB] FILE NAME
//	    put FILE into blobs/ as NAME and record it in config/blobs.yml, as `bosh add-blob`
//
// scripts/create-dev-release and scripts/add-blobs run it.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
)

const usage = `usage:
  boshrelease create-dev-release [-dir DIR] [-version VERSION] [-tarball PATH]
  boshrelease add-blob [-dir DIR] [-replace GLOB] FILE NAME`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "create-dev-release":
		err = createDevRelease(os.Args[2:])
	case "add-blob":
		err = addBlob(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "boshrelease:", err)
		os.Exit(1)
	}
}

func createDevRelease(args []string) error {
	flags := flag.NewFlagSet("create-dev-release", flag.ExitOnError)
	dir := flags.String("dir", ".", "the release directory")
	// bosh create-release --timestamp-version's form: unique without a dev release index.
	version := flags.String("version", fmt.Sprintf("0+dev.%d", time.Now().Unix()), "the release version")
	tarball := flags.String("tarball", "", "where to write the tarball (default dev_releases/NAME/NAME-VERSION.tgz)")
	_ = flags.Parse(args)
	if flags.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %v\n%s", flags.Args(), usage)
	}
	name, err := releaseName(*dir)
	if err != nil {
		return err
	}
	if err := checkModulesBlob(*dir); err != nil {
		return err
	}
	if err := boshrelease.CheckBlobs(*dir); err != nil {
		return err
	}
	out := *tarball
	if out == "" {
		out = filepath.Join(*dir, "dev_releases", name, fmt.Sprintf("%s-%s.tgz", name, *version))
	}
	if err := boshrelease.CreateDevRelease(*dir, name, *version, out); err != nil {
		return err
	}
	fmt.Printf("Release name: %s\nRelease version: %s\nRelease tarball: %s\n", name, *version, out)
	return nil
}

// releaseName is the name config/final.yml gives the release.
func releaseName(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "config", "final.yml"))
	if err != nil {
		return "", err
	}
	var final struct {
		Name string `yaml:"name"`
	}
	if err := yaml.Unmarshal(data, &final); err != nil || final.Name == "" {
		return "", fmt.Errorf("config/final.yml names no release (%v)", err)
	}
	return final.Name, nil
}

// checkModulesBlob refuses to build with a module cache blob made for another go.mod and go.sum:
// the docker-broker package compiles with the go.mod and go.sum inside the blob, and its name
// carries their hash (scripts/add-blobs).
func checkModulesBlob(dir string) error {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		h.Write(data)
	}
	want := "docker-broker/modules-" + hex.EncodeToString(h.Sum(nil))[:12] + ".tgz"
	blobs, err := boshrelease.Blobs(dir)
	if err != nil {
		return err
	}
	if _, ok := blobs[want]; !ok {
		return fmt.Errorf("config/blobs.yml has no %s, the module cache for the current go.mod and go.sum: run scripts/add-blobs", want)
	}
	return nil
}

func addBlob(args []string) error {
	flags := flag.NewFlagSet("add-blob", flag.ExitOnError)
	dir := flags.String("dir", ".", "the release directory")
	replace := flags.String("replace", "", "remove the blobs whose names match this glob first")
	_ = flags.Parse(args)
	if flags.NArg() != 2 {
		return fmt.Errorf("add-blob needs FILE and NAME\n%s", usage)
	}
	if err := boshrelease.AddBlob(*dir, flags.Arg(0), flags.Arg(1), *replace); err != nil {
		return err
	}
	fmt.Printf("Added blob %s\n", flags.Arg(1))
	return nil
}
