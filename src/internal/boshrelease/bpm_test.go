package boshrelease_test

import (
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/boshrelease"
)

func TestBPMValidateAppliesBPMsRules(t *testing.T) {
	process := func(volume string) boshrelease.BPMConfig {
		return boshrelease.BPMConfig{Processes: []boshrelease.BPMProcess{{
			Name: "p", Executable: "/var/vcap/packages/p/bin/p",
			AdditionalVolumes: []boshrelease.BPMVolume{{Path: volume}},
		}}}
	}
	for volume, problem := range map[string]string{
		"/var/vcap/data/sys/run/docker": "",
		"/var/vcap/store/other-job":     "",
		"/var/vcap/sys/run/docker":      "outside",
		"/etc/docker":                   "outside",
		"/var/vcap/data/../etc":         "not canonical",
		"/var/vcap/data":                "outside",
		"/var/vcap/data/job":            "default volumes",
		"/var/vcap/store/job":           "default volumes",
	} {
		err := process(volume).Validate("/var/vcap", "job")
		if (err == nil) != (problem == "") || (err != nil && !strings.Contains(err.Error(), problem)) {
			t.Errorf("volume %s: %v, want %q", volume, err, problem)
		}
	}
	err := boshrelease.BPMConfig{Processes: []boshrelease.BPMProcess{{Name: "p"}}}.Validate("/var/vcap", "job")
	if err == nil || !strings.Contains(err.Error(), "executable") {
		t.Errorf("a process without executable: %v", err)
	}
}

func TestBrokerProtocolMustMatchTLS(t *testing.T) {
	for _, c := range []struct {
		name  string
		props map[string]any
		ok    bool
	}{
		{"http without tls", map[string]any{}, true},
		{"https with tls", map[string]any{"protocol": "https", "tls": map[string]any{"cert": "PEM", "key": "PEM"}}, true},
		{"https without tls", map[string]any{"protocol": "https"}, false},
		{"http with tls", map[string]any{"tls": map[string]any{"cert": "PEM", "key": "PEM"}}, false},
		{"ftp", map[string]any{"protocol": "ftp"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			jobs, err := boshrelease.LoadJobs(repoRoot(t))
			if err != nil {
				t.Fatal(err)
			}
			props := map[string]any{"password": "a-broker-password"}
			for k, v := range c.props {
				props[k] = v
			}
			tc := boshrelease.TemplateContext{Instance: boshrelease.Instance{Address: "10.0.0.5"}, Properties: props}
			err = newRenderer(t).RenderJob(jobs["docker-broker"], tc, t.TempDir())
			if (err == nil) != c.ok {
				t.Errorf("rendered: %v, want success %v", err, c.ok)
			}
		})
	}
}
