package catalog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// File is a config file that the broker writes into the instance's persistent volume before the
// container starts: what an image takes from no environment variable (a Redis ACL file), or a
// secret that the image accepts in no *_FILE variable (RabbitMQ's default_pass in rabbitmq.conf).
type File struct {
	Path   string      // absolute, cleaned container path inside Volume
	Volume string      // the outermost of container.persistent_volumes that holds Path
	Mode   fs.FileMode // permission bits; default 0600
	// Once (the default) writes the file only where it is absent: the service may change it
	// later (Redis's ACL SAVE), which the next recreation must not undo. Otherwise the file is
	// rewritten at every (re)creation of the container.
	Once    bool
	content *template.Template // over FileFacts
	source  string             // the content as written: part of the plan's spec digest
}

// Render is the file's content for an instance.
func (f File) Render(facts FileFacts) ([]byte, error) {
	var content bytes.Buffer
	if err := f.content.Execute(&content, facts); err != nil {
		return nil, err
	}
	return content.Bytes(), nil
}

const defaultFileMode fs.FileMode = 0o600

// files reads `files`, each inside one of volumes, its content tried on sample and using only
// the credentials the plan has.
func (o *object) files(key string, volumes []string, sample InstanceFacts, credentials Credentials) []File {
	items := o.children(key)
	if len(items) > 0 && len(volumes) == 0 {
		o.r.problem(o.at(key), "needs container.persistent_volumes: a file is written into one")
	}
	var files []File
	owners := map[string]string{} // file path → the path of its item, for messages
	for _, fo := range items {
		f := File{Mode: defaultFileMode, Once: fo.boolean("once", true)}
		f.Path, f.Volume = fo.filePath("path", volumes)
		if mode, given := fo.value("mode"); given {
			f.Mode = fo.r.fileModeAt(fo.at("mode"), mode)
		}
		if raw, given := fo.value("content"); !given {
			o.r.problem(fo.at("content"), "required; \"\" for an empty file")
		} else if text, ok := o.r.stringAt(fo.at("content"), raw); ok {
			f.source = text
			f.content = parseTemplate(o.r, fo.at("content"), cmp.Or(f.Path, "content"), text, FileFacts{InstanceFacts: sample}, fileFactNames)
			if f.content != nil {
				requireCredentials(o.r, fo.at("content"), f.content, credentials, "the plan", "Username", "Password", "DBName")
			}
		}
		fo.warnUnknown()
		if f.Path == "" {
			continue
		}
		if first, taken := owners[f.Path]; taken {
			o.r.problem(fo.at("path"), "%s is already the path of %s", f.Path, first)
			continue
		}
		for other, item := range owners {
			if strings.HasPrefix(f.Path, other+"/") || strings.HasPrefix(other, f.Path+"/") {
				o.r.problem(fo.at("path"), "%s and the file of %s (%s) cannot both be: one would be the other's directory", f.Path, item, other)
			}
		}
		owners[f.Path] = fo.path
		if f.content != nil {
			files = append(files, f)
		}
	}
	return files
}

// filePath reads the container path of a file and finds the outermost volume that holds it;
// "" when it is in none.
func (o *object) filePath(key string, volumes []string) (file, volume string) {
	text := o.requiredStr(key)
	cleaned := path.Clean(text)
	switch {
	case text == "":
		return "", ""
	case !path.IsAbs(text):
		o.r.problem(o.at(key), "%q: must be an absolute path such as /data/redis.conf", text)
		return "", ""
	case slices.Contains(strings.Split(text, "/"), ".."):
		o.r.problem(o.at(key), "%q: must not contain ..", text)
		return "", ""
	case slices.Contains(volumes, cleaned):
		o.r.problem(o.at(key), "%s is a persistent volume, a directory", cleaned)
		return "", ""
	}
	for _, vol := range volumes {
		if strings.HasPrefix(cleaned, vol+"/") && (volume == "" || len(vol) < len(volume)) {
			volume = vol
		}
	}
	if volume == "" {
		o.r.problem(o.at(key), "%s is in none of container.persistent_volumes (%s): the broker writes files into the instance's volumes only", cleaned, strings.Join(volumes, ", "))
		return "", ""
	}
	return cleaned, volume
}

// fileModeAt reads permission bits written in octal ("0640"). A number is refused: YAML reads an
// unquoted 0640 as 416, and 640 as six hundred and forty.
func (r *reader) fileModeAt(at string, raw json.RawMessage) fs.FileMode {
	text, ok := r.stringAt(at, raw)
	if !ok {
		return defaultFileMode
	}
	digits := strings.TrimPrefix(strings.TrimSpace(text), "0o")
	mode, err := strconv.ParseUint(digits, 8, 32)
	if err != nil || mode > 0o777 {
		r.problem(at, "%q: not permission bits in octal such as \"0640\"", text)
		return defaultFileMode
	}
	return fs.FileMode(mode)
}
