package boshrelease

import (
	"fmt"
	"os"

	boshtpl "github.com/cloudfoundry/bosh-cli/v7/director/template"
	"github.com/cppforlife/go-patch/patch"
	yamlv2 "gopkg.in/yaml.v2"

	"go.yaml.in/yaml/v3"
)

// Manifest is what a director reads of a deployment manifest to place and configure jobs.
type Manifest struct {
	Name           string          `yaml:"name"`
	Releases       []ReleaseRef    `yaml:"releases"`
	Stemcells      []Stemcell      `yaml:"stemcells"`
	Update         map[string]any  `yaml:"update"`
	Features       map[string]any  `yaml:"features"`
	InstanceGroups []InstanceGroup `yaml:"instance_groups"`
	Variables      []Variable      `yaml:"variables"`
	Properties     map[string]any  `yaml:"properties"` // global properties (deprecated by BOSH, still honoured)
}

// ReleaseRef is an entry of the manifest's releases.
type ReleaseRef struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
	URL     string `yaml:"url"`
	SHA1    string `yaml:"sha1"`
}

// Stemcell is an entry of the manifest's stemcells.
type Stemcell struct {
	Alias   string `yaml:"alias"`
	OS      string `yaml:"os"`
	Version string `yaml:"version"`
}

// InstanceGroup is an entry of the manifest's instance_groups.
type InstanceGroup struct {
	Name           string         `yaml:"name"`
	Instances      int            `yaml:"instances"`
	AZs            []string       `yaml:"azs"`
	Lifecycle      string         `yaml:"lifecycle"` // "service" (default) or "errand"
	VMType         string         `yaml:"vm_type"`
	Stemcell       string         `yaml:"stemcell"`
	PersistentDisk int            `yaml:"persistent_disk"`
	Networks       []Network      `yaml:"networks"`
	Jobs           []ManifestJob  `yaml:"jobs"`
	Properties     map[string]any `yaml:"properties"` // instance-group properties (deprecated by BOSH, still honoured)
}

// Network places an instance group on a network of the cloud config.
type Network struct {
	Name      string   `yaml:"name"`
	StaticIPs []string `yaml:"static_ips"`
	Default   []string `yaml:"default"`
}

// ManifestJob is a job of an instance group: which release it comes from, its properties, and
// how its links are wired.
type ManifestJob struct {
	Name       string         `yaml:"name"`
	Release    string         `yaml:"release"`
	Properties map[string]any `yaml:"properties"`
	Consumes   map[string]any `yaml:"consumes"`
	Provides   map[string]any `yaml:"provides"`
}

// Variable is an entry of the manifest's variables: what a vars store generates.
type Variable struct {
	Name    string         `yaml:"name"`
	Type    string         `yaml:"type"`
	Options map[string]any `yaml:"options"`
}

// InstanceGroup returns the instance group called name.
func (m Manifest) InstanceGroup(name string) (InstanceGroup, bool) {
	for _, ig := range m.InstanceGroups {
		if ig.Name == name {
			return ig, true
		}
	}
	return InstanceGroup{}, false
}

// Job returns the job called name.
func (ig InstanceGroup) Job(name string) (ManifestJob, bool) {
	for _, j := range ig.Jobs {
		if j.Name == name {
			return j, true
		}
	}
	return ManifestJob{}, false
}

// Interpolation is what `bosh interpolate` and `bosh deploy` are given: a manifest, ops files
// applied in their order (-o), variables (-v name=value), and a vars store that keeps the
// generated values of the manifest's variables (--vars-store).
type Interpolation struct {
	ManifestPath string
	OpsFiles     []string
	Vars         map[string]any
	VarsStore    *VarsStore // nil: variables of the manifest are not generated
}

// Interpolate applies the ops files and the variables the way the bosh CLI does (with go-patch
// and bosh-cli's template package), and fails naming every variable that has no value.
func (in Interpolation) Interpolate() ([]byte, error) {
	data, err := os.ReadFile(in.ManifestPath)
	if err != nil {
		return nil, err
	}
	var ops patch.Ops
	for _, path := range in.OpsFiles {
		fileOps, err := loadOpsFile(path)
		if err != nil {
			return nil, err
		}
		ops = append(ops, fileOps...)
	}
	vars := []boshtpl.Variables{boshtpl.StaticVariables(in.Vars)}
	if in.VarsStore != nil {
		vars = append(vars, in.VarsStore)
	}
	out, err := boshtpl.NewTemplate(data).Evaluate(boshtpl.NewMultiVars(vars), ops, boshtpl.EvaluateOpts{ExpectAllKeys: true})
	if err != nil {
		return nil, fmt.Errorf("interpolating %s: %w", in.ManifestPath, err)
	}
	return out, nil
}

// Manifest interpolates and parses the result.
func (in Interpolation) Manifest() (Manifest, error) {
	data, err := in.Interpolate()
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := yaml.Unmarshal(data, &m); err != nil {
		return Manifest{}, fmt.Errorf("interpolated %s: %w", in.ManifestPath, err)
	}
	return m, nil
}

// loadOpsFile reads an ops file as the bosh CLI does; a failing operation names its file.
func loadOpsFile(path string) (patch.Ops, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var defs []patch.OpDefinition
	if err := yamlv2.Unmarshal(data, &defs); err != nil {
		return nil, fmt.Errorf("ops file %s: %w", path, err)
	}
	for i := range defs {
		msg := fmt.Sprintf("operation [%d] in %s failed", i, path)
		defs[i].Error = &msg
	}
	ops, err := patch.NewOpsFromDefinitions(defs)
	if err != nil {
		return nil, fmt.Errorf("ops file %s: %w", path, err)
	}
	return ops, nil
}
