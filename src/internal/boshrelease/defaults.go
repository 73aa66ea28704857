package boshrelease

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
)

// DefaultMismatches finds where the defaults of job jobName of the release in releaseDir and its
// program's own defaults disagree: a config file that omits a key must mean what the job renders
// for it when the manifest sets nothing, or a config written by hand (the local run, tests,
// another deployment tool) behaves unlike a BOSH VM. The job's templates are the mapping from
// properties to config keys, so they are rendered (for an instance at 192.0.2.1) with
// properties, the manifest's values of the properties the spec has no default for, and config is
// the rendered file's path in the job, e.g. "config/broker.json". Then, for every key of that
// file (the keys of nested objects one by one), the file without the key is given to load, which
// reads a config file as the program does; where the result differs from the whole file's, the
// mismatch is reported by key path. A key without which load fails is one the program requires
// (it has no default of its own) and is not compared. An empty list and no list count as equal.
func DefaultMismatches(releaseDir, jobName, config string, properties map[string]any, load func(path string) (any, error)) ([]string, error) {
	job, err := LoadJob(filepath.Join(releaseDir, "jobs", jobName))
	if err != nil {
		return nil, err
	}
	r, err := NewRenderer()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	dir, err := os.MkdirTemp("", "boshrelease-defaults-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tc := TemplateContext{Instance: Instance{Address: "192.0.2.1", IP: "192.0.2.1", Network: "default"}, Properties: properties}
	if err := r.RenderJob(job, tc, filepath.Join(dir, "job")); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "job", config))
	if err != nil {
		return nil, err
	}
	var rendered map[string]any
	if err := json.Unmarshal(data, &rendered); err != nil {
		return nil, fmt.Errorf("%s of job %s: %w", config, job.Spec.Name, err)
	}
	loadJSON := func(doc map[string]any) (any, error) {
		data, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, "config.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
		loaded, err := load(path)
		if err != nil {
			return nil, err
		}
		return canonical(loaded)
	}
	want, err := loadJSON(rendered)
	if err != nil {
		return nil, fmt.Errorf("%s of job %s, rendered from the spec's defaults, does not load: %w", config, job.Spec.Name, err)
	}
	var mismatches []string
	for _, key := range leafKeys(rendered, "") {
		got, err := loadJSON(without(rendered, key))
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			mismatches = append(mismatches, fmt.Sprintf("%s: the spec's default renders %s; without it the program loads a config that differs: %s",
				key, jsonText(valueAt(rendered, key)), difference(want, got)))
		}
	}
	return mismatches, nil
}

// leafKeys lists the dotted paths of doc's values, descending into non-empty objects.
func leafKeys(doc map[string]any, prefix string) []string {
	var keys []string
	for k, v := range doc {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			keys = append(keys, leafKeys(m, prefix+k+".")...)
		} else {
			keys = append(keys, prefix+k)
		}
	}
	slices.Sort(keys)
	return keys
}

// without returns a copy of doc lacking the dotted path key.
func without(doc map[string]any, key string) map[string]any {
	out := maps.Clone(doc)
	first, rest, nested := strings.Cut(key, ".")
	if !nested {
		delete(out, first)
	} else {
		out[first] = without(doc[first].(map[string]any), rest)
	}
	return out
}

// valueAt returns the value at the dotted path key of doc, nil where there is none.
func valueAt(doc any, key string) any {
	for k := range strings.SplitSeq(key, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// canonical is v as JSON sees it, with empty lists as null: a program reads either as "none".
func canonical(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return dropEmptyLists(out), nil
}

func dropEmptyLists(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = dropEmptyLists(e)
		}
	case []any:
		if len(v) == 0 {
			return nil
		}
		for i, e := range v {
			v[i] = dropEmptyLists(e)
		}
	}
	return v
}

// difference names the keys where two loaded configs differ, with both values.
func difference(want, got any) string {
	var diffs []string
	var walk func(prefix string, a, b any)
	walk = func(prefix string, a, b any) {
		am, aok := a.(map[string]any)
		bm, bok := b.(map[string]any)
		if !aok || !bok {
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("%s is %s with the key, %s without", strings.TrimSuffix(prefix, "."), jsonText(a), jsonText(b)))
			}
			return
		}
		keys := maps.Clone(am)
		maps.Copy(keys, bm)
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			walk(prefix+k+".", am[k], bm[k])
		}
	}
	walk("", want, got)
	return strings.Join(diffs, "; ")
}

func jsonText(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
