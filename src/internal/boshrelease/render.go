package boshrelease

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cloudfoundry/bosh-cli/v7/templatescompiler/erbrenderer"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
)

//go:embed director_context.rb
var directorContext string

// Renderer renders job templates with bosh-cli's ERB renderer (Ruby's ERB, through the `ruby`
// on PATH), extended with what a director's evaluation context has and the CLI's lacks: links.
type Renderer struct {
	erb    erbrenderer.ERBRenderer
	tmpDir string // holds director_context.rb
}

// NewRenderer prepares a renderer; Close removes its temporary files.
func NewRenderer() (*Renderer, error) {
	dir, err := os.MkdirTemp("", "boshrelease-erb-")
	if err != nil {
		return nil, err
	}
	ext := filepath.Join(dir, "director_context.rb")
	if err := os.WriteFile(ext, []byte(directorContext), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logger := boshlog.NewLogger(boshlog.LevelNone)
	runner := rubyWithExtension{CmdRunner: boshsys.NewExecCmdRunner(logger), extension: ext}
	return &Renderer{erb: erbrenderer.NewERBRenderer(boshsys.NewOsFileSystem(logger), runner, logger), tmpDir: dir}, nil
}

// Close removes the renderer's temporary files.
func (r *Renderer) Close() error { return os.RemoveAll(r.tmpDir) }

// rubyWithExtension loads director_context.rb into the ruby process that runs bosh-cli's
// renderer script, ahead of it.
type rubyWithExtension struct {
	boshsys.CmdRunner
	extension string
}

func (r rubyWithExtension) RunComplexCommand(cmd boshsys.Command) (string, string, int, error) {
	if cmd.Name == "ruby" {
		cmd.Args = append([]string{"-r", r.extension}, cmd.Args...)
	}
	return r.CmdRunner.RunComplexCommand(cmd)
}

// TemplateContext is what a director hands a job's templates about the instance they render
// for: the instance (spec.*), the job's properties as the manifest sets them, and its links.
type TemplateContext struct {
	Instance   Instance
	Properties map[string]any  // the manifest's properties for the job (spec defaults are applied by the renderer)
	Links      map[string]Link // by the consumer's link name
}

// RenderJob renders every template of job, and its monit file, into dst (created), with the
// file modes of a BOSH VM: bin/ executable, everything else readable by owner and group only
// (configs hold secrets). A template that fails, reads an undeclared property or a link the
// context lacks fails the rendering with Ruby's explanation.
func (r *Renderer) RenderJob(job Job, tc TemplateContext, dst string) error {
	ctx := evaluationContext{job: job, tc: tc}
	files := make([]string, 0, len(job.Spec.Templates)+1)
	for src := range job.Spec.Templates {
		files = append(files, src)
	}
	sort.Strings(files)
	for _, src := range files {
		if err := r.render(filepath.Join(job.Dir, "templates", src), dst, job.Spec.Templates[src], ctx); err != nil {
			return fmt.Errorf("job %s, template %s: %w", job.Spec.Name, src, err)
		}
	}
	if err := r.render(filepath.Join(job.Dir, "monit"), dst, "monit", ctx); err != nil {
		return fmt.Errorf("job %s, monit: %w", job.Spec.Name, err)
	}
	return nil
}

// render renders src into root/rel.
func (r *Renderer) render(src, root, rel string, ctx evaluationContext) error {
	dst := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	if err := r.erb.Render(src, dst, ctx); err != nil {
		return err
	}
	mode := os.FileMode(0o640)
	if strings.HasPrefix(rel, "bin/") {
		mode = 0o750
	}
	return os.Chmod(dst, mode)
}

// evaluationContext is the JSON the renderer script turns into the templates' binding: the
// fields of bosh-cli's RootContext, and those of a director's spec that the CLI leaves out
// (name, ip, properties, links).
type evaluationContext struct {
	job Job
	tc  TemplateContext
}

func (c evaluationContext) MarshalJSON() ([]byte, error) {
	defaults := map[string]any{}
	for name, p := range c.job.Spec.Properties {
		defaults[name] = p.Default
	}
	properties := c.tc.Properties
	if properties == nil {
		properties = map[string]any{}
	}
	links := c.tc.Links
	if links == nil {
		links = map[string]Link{}
	}
	in := c.tc.Instance
	return json.Marshal(map[string]any{
		"job":                map[string]any{"name": c.job.Spec.Name},
		"name":               in.Group,
		"index":              in.Index,
		"id":                 in.ID,
		"az":                 in.AZ,
		"bootstrap":          in.Bootstrap,
		"deployment":         in.Deployment,
		"address":            in.Address,
		"ip":                 in.IP,
		"networks":           map[string]any{in.Network: map[string]any{"ip": in.IP, "default": []string{"dns", "gateway"}}},
		"job_properties":     properties,
		"global_properties":  map[string]any{},
		"cluster_properties": map[string]any{},
		"default_properties": defaults,
		"properties":         c.job.Spec.Resolve(properties),
		"links":              links,
	})
}
