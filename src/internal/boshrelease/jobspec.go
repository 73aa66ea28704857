// Package boshrelease is this repository seen as BOSH sees it: the release's job specs, the
// deployment manifests with their ops files and variables, job templates rendered as a director
// renders them (bosh-cli's ERB renderer, given properties and links), a dev release tarball as
// `bosh create-release --tarball` writes it, and the parts of a VM's life a director would drive
// (compiling packages, starting processes as bpm does), so that the release can be proven on a
// machine without a director.
package boshrelease

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"
)

// JobSpec is a job's `spec` file.
type JobSpec struct {
	Name        string                  `yaml:"name"`
	Description string                  `yaml:"description"`
	Templates   map[string]string       `yaml:"templates"` // template file under templates/ → path in the rendered job
	Packages    []string                `yaml:"packages"`
	Consumes    []LinkConsumer          `yaml:"consumes"`
	Provides    []LinkProvider          `yaml:"provides"`
	Properties  map[string]PropertySpec `yaml:"properties"`
}

// PropertySpec declares one property of a job.
type PropertySpec struct {
	Description string `yaml:"description"`
	Default     any    `yaml:"default"`
	Example     any    `yaml:"example"`
}

// LinkConsumer is a link a job consumes.
type LinkConsumer struct {
	Name     string `yaml:"name"`
	Type     string `yaml:"type"`
	Optional bool   `yaml:"optional"`
}

// LinkProvider is a link a job provides: its type and the job properties it carries.
type LinkProvider struct {
	Name       string   `yaml:"name"`
	Type       string   `yaml:"type"`
	Properties []string `yaml:"properties"`
}

// Job is a job directory: jobs/<name>/ of a release directory (spec, monit, templates/), or a
// job archive of a release tarball, unpacked (job.MF, monit, templates/).
type Job struct {
	Dir  string
	Spec JobSpec
}

// LoadJob reads the job in dir.
func LoadJob(dir string) (Job, error) {
	data, err := os.ReadFile(filepath.Join(dir, "spec"))
	if errors.Is(err, os.ErrNotExist) {
		data, err = os.ReadFile(filepath.Join(dir, "job.MF"))
	}
	if err != nil {
		return Job{}, err
	}
	var spec JobSpec
	if err := yaml.Unmarshal(data, &spec); err != nil {
		return Job{}, fmt.Errorf("job spec in %s: %w", dir, err)
	}
	if spec.Name != filepath.Base(dir) {
		return Job{}, fmt.Errorf("job spec in %s: name %q differs from the directory name (bosh refuses that)", dir, spec.Name)
	}
	return Job{Dir: dir, Spec: spec}, nil
}

// LoadJobs reads every job of the release in releaseDir, keyed by name.
func LoadJobs(releaseDir string) (map[string]Job, error) {
	dirs, err := filepath.Glob(filepath.Join(releaseDir, "jobs", "*"))
	if err != nil {
		return nil, err
	}
	jobs := map[string]Job{}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		job, err := LoadJob(dir)
		if err != nil {
			return nil, err
		}
		jobs[job.Spec.Name] = job
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("no jobs in %s/jobs", releaseDir)
	}
	return jobs, nil
}

// PropertyNames returns the names of the declared properties, sorted.
func (s JobSpec) PropertyNames() []string {
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Resolve returns the job's properties as a director computes them for a template: every
// declared property, with the manifest's value where it sets one and the spec's default
// otherwise (nil when it has neither). Properties the manifest sets but the spec does not
// declare are dropped, as the director drops them. Dotted names ("tls.cert") become nested maps.
func (s JobSpec) Resolve(manifestProperties map[string]any) map[string]any {
	resolved := map[string]any{}
	for _, name := range s.PropertyNames() {
		value, found := lookup(manifestProperties, name)
		if !found {
			value = s.Properties[name].Default
		}
		set(resolved, name, value)
	}
	return resolved
}
