package sanitytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
)

// Engine is what the errand asks of the Docker Engine it shares the VM with: a throwaway
// container per check.
type Engine interface {
	ImageExists(ctx context.Context, ref string) (bool, error)
	PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error
	CreateContainer(ctx context.Context, spec dockerengine.ContainerSpec) (string, error)
	WriteFiles(ctx context.Context, id, dir string, files []dockerengine.File) error
	StartContainer(ctx context.Context, id string) error
	WaitContainer(ctx context.Context, id string) (int, error)
	ContainerLogs(ctx context.Context, id string, lines int) ([]byte, error)
	RemoveContainer(ctx context.Context, id string) error
}

// LabelPlan marks a check container with the id of the plan it checks.
const LabelPlan = "docker-broker.sanity-test.plan_id"

// Where the check container finds the binding's credentials (catalog.SanityCheck): the files
// are written into the container's own file system, so neither argv nor `docker inspect`
// shows them, and go with the container.
const (
	credentialsRoot = "/sanity-test"
	credentialsFile = "credentials.json"
	credentialsDir  = "credentials"
)

// outputLines is how much of a failed check's output the table shows.
const outputLines = 10

// check runs the plan's sanity check against the binding's credentials in a throwaway
// container on the engine host's network (it reaches the published port as an app does),
// removed afterwards whatever happened.
func (r planRun) check(ctx context.Context, raw json.RawMessage) error {
	check := r.catalogPlan.SanityCheck
	if check == nil {
		return errSkipped("no sanity check")
	}
	creds, files, err := credentialFiles(raw)
	if err != nil {
		return err
	}
	if err := r.ensureImage(ctx, check.Image); err != nil {
		return err
	}
	defer func() {
		cleanup, cancel := r.cleanupContext(ctx)
		defer cancel()
		_ = r.removeCheckContainer(cleanup) // a failure here is found by the next run's clean-up
	}()
	id, err := r.engine.CreateContainer(ctx, dockerengine.ContainerSpec{
		Name:       r.id,
		Image:      check.Image,
		Entrypoint: check.Command[:1],
		Cmd:        check.Command[1:],
		Env: []string{
			catalog.EnvCredentialsFile + "=" + path.Join(credentialsRoot, credentialsFile),
			catalog.EnvCredentialsDir + "=" + path.Join(credentialsRoot, credentialsDir),
			catalog.EnvHost + "=" + creds.host,
			catalog.EnvPort + "=" + creds.port,
		},
		Labels:        map[string]string{LabelPlan: r.catalogPlan.ID},
		NetworkMode:   "host",
		RestartPolicy: dockerengine.RestartPolicy{Name: "no"},
	})
	if err != nil {
		return err
	}
	if err := r.engine.WriteFiles(ctx, id, "/", files); err != nil {
		return err
	}
	if err := r.engine.StartContainer(ctx, id); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, check.Timeout.D())
	defer cancel()
	exitCode, err := r.engine.WaitContainer(wait, id)
	if err != nil {
		if ctx.Err() == nil && wait.Err() != nil {
			return fmt.Errorf("no answer within %v (sanity_check.timeout)%s", check.Timeout.D(), r.output(ctx, id, creds))
		}
		return err
	}
	if exitCode != 0 {
		return fmt.Errorf("the check (%s) exited with status %d%s", strings.Join(check.Command[:min(len(check.Command), 2)], " "), exitCode, r.output(ctx, id, creds))
	}
	return nil
}

// output is the end of a check container's output, its secrets redacted, indented under the
// row; "" when there is none.
func (r planRun) output(ctx context.Context, id string, creds bindingCredentials) string {
	logs, err := r.engine.ContainerLogs(context.WithoutCancel(ctx), id, outputLines)
	text := strings.TrimRight(credentials.Redact(string(logs), creds.secrets...), "\n")
	if err != nil || text == "" {
		return ""
	}
	return ":\n    | " + strings.ReplaceAll(text, "\n", "\n    | ")
}

// ensureImage pulls the check's image unless the engine has it (the plan's own image it has,
// since the instance runs it).
func (r planRun) ensureImage(ctx context.Context, ref string) error {
	ok, err := r.engine.ImageExists(ctx, ref)
	if err != nil || ok {
		return err
	}
	return r.engine.PullImage(ctx, ref, nil)
}

// removeCheckContainer removes the plan's check container, if there is one.
func (r planRun) removeCheckContainer(ctx context.Context) error {
	if err := r.engine.RemoveContainer(ctx, r.id); err != nil && !dockerengine.IsNotFound(err) {
		return err
	}
	return nil
}

// bindingCredentials is what the errand itself reads of a binding's credentials.
type bindingCredentials struct {
	host, port string
	secrets    []string // to redact from the check's output
}

// credentialFiles reads a binding's credentials and makes the files the check container gets:
// the JSON, and one file per credential whose value is a string or a number.
func credentialFiles(raw json.RawMessage) (bindingCredentials, []dockerengine.File, error) {
	var fields map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil {
		return bindingCredentials{}, nil, fmt.Errorf("the binding's credentials are no JSON object: %w", err)
	}
	var c bindingCredentials
	files := []dockerengine.File{{Path: path.Join(path.Base(credentialsRoot), credentialsFile), Content: raw, Mode: 0o444}}
	for key, value := range fields {
		var text string
		switch v := value.(type) {
		case string:
			text = v
		case json.Number:
			text = v.String()
		default:
			continue
		}
		if !validFileName(key) {
			continue
		}
		files = append(files, dockerengine.File{Path: path.Join(path.Base(credentialsRoot), credentialsDir, key), Content: []byte(text), Mode: 0o444})
		switch key {
		case "host":
			c.host = text
		case "port":
			c.port = text
		case "hostname", "dbname", "username":
		default:
			c.secrets = append(c.secrets, text) // password, uri, and whatever an engine adds
		}
	}
	if c.host == "" {
		c.host, _ = fields["hostname"].(string)
	}
	if c.host == "" || c.port == "" {
		return c, nil, errors.New("the binding's credentials have no host and port to check")
	}
	return c, files, nil
}

// validFileName tells whether a credential's key can be a file's name.
func validFileName(key string) bool {
	return key != "" && key != "." && key != ".." && !strings.ContainsAny(key, "/\x00")
}
