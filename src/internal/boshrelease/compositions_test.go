package boshrelease_test

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
	"github.com/cloudfoundry-community/docker-broker/src/internal/testenv"
)

// repoRoot is the repository: the release directory and the module root.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// operatorVars are the values an operator passes with -v for the ops files of the repository.
var operatorVars = map[string]any{
	"cf-api-url":             "https://api.example.com",
	"cf-skip-ssl-validation": false,
	"cf-admin-username":      "admin",
	"cf-admin-password":      "an-admin-password",
	"broker-external-host":   "docker-services.example.com",
	"docker-static-ip":       "10.244.0.144",
	"broker-route-uri":       "docker-broker.system.example.com",
	"sandbox-dir":            "/tmp/sandbox",
	"images-dir":             "/tmp/images",
	"bridge":                 "dbrtest0",
	"bridge-cidr":            "10.232.0.1/24",
	"broker-port":            8080,
	"broker-metrics-port":    9090,
	"docker-nodes":           3,
}

// composition is one command line: the manifest with ops files in order.
type composition struct {
	name string
	ops  []string // relative to the repository
}

// seedServices are the services ops files of the seed's command lines.
var seedServices = []string{"services/op-postgresql96.yml", "services/op-mysql56.yml", "services/op-redis32.yml"}

// opsFiles are every ops file of operators/ and services/, relative to the repository (found by
// glob: a new ops file is covered without touching a list).
func opsFiles(t testing.TB) []string {
	t.Helper()
	root := repoRoot(t)
	var list []string
	for _, glob := range []string{"operators/*.yml", "services/*.yml"} {
		files, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil || len(files) == 0 {
			t.Fatalf("no ops files %s", glob)
		}
		sort.Strings(files)
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			list = append(list, rel)
		}
	}
	return list
}

// compositions are the seed's command lines, every ops file on its own, and all of them
// together.
func compositions(t testing.TB) []composition {
	t.Helper()
	list := []composition{
		{"seed deploy", seedServices},
		{"seed deploy with cf-integration", append([]string{"operators/cf-integration.yml"}, seedServices...)},
	}
	all := opsFiles(t)
	for _, op := range all {
		list = append(list, composition{op, []string{op}})
	}
	return append(list, composition{"every ops file", all})
}

// interpolation is the command line of c with every operator variable and a fresh vars store.
func (c composition) interpolation(t testing.TB) boshrelease.Interpolation {
	t.Helper()
	root := repoRoot(t)
	in := boshrelease.Interpolation{
		ManifestPath: filepath.Join(root, "manifests", "docker-broker.yml"),
		Vars:         operatorVars,
		VarsStore:    boshrelease.NewVarsStore(),
	}
	for _, op := range c.ops {
		in.OpsFiles = append(in.OpsFiles, filepath.Join(root, op))
	}
	return in
}
