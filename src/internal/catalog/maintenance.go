package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"regexp"
	"strconv"

	"golang.org/x/mod/semver"
)

// semverPattern is the regular expression of semver.org for a version 2.0.0: the platform
// compares these versions to offer upgrades, so a malformed one breaks `cf upgrade-service`.
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// parseMaintenanceInfo reads a plan's `maintenance_info`; nil when o is nil.
func parseMaintenanceInfo(o *object) *MaintenanceInfo {
	if o == nil {
		return nil
	}
	m := MaintenanceInfo{Version: o.requiredStr("version"), Description: o.str("description")}
	if m.Version != "" && !semverPattern.MatchString(m.Version) {
		o.r.problem(o.at("version"), "%q: not a semantic version such as 1.2.3", m.Version)
	}
	o.warnUnknown()
	return &m
}

// firstMaintenanceVersion is the maintenance version of a plan whose file gives none: every plan
// has one, so that a change of its container can be offered as an upgrade.
const firstMaintenanceVersion = "1.0.0"

// SpecDigest is a digest (hex SHA-256) of everything about the plan that decides what its
// containers run: the image and tag, command, environment, volumes, limits, files and how the
// credentials reach the container. Descriptions, metadata, health checks and binding commands
// are left out: changing them changes no container. A container only gets a new spec when it
// is recreated, so a new digest is a maintenance upgrade to offer (PublishedMaintenance).
func (p Plan) SpecDigest() string {
	type fileSpec struct {
		Path, Content string
		Mode          fs.FileMode
		Once          bool
	}
	type credentialSpec struct {
		Name, Key string
		AsFile    bool
	}
	spec := struct {
		Container   Container
		Files       []fileSpec
		Credentials []credentialSpec
	}{Container: p.Container}
	spec.Container.Files = nil // their content is unexported: listed as fileSpec instead
	for _, f := range p.Container.Files {
		spec.Files = append(spec.Files, fileSpec{Path: f.Path, Content: f.source, Mode: f.Mode, Once: f.Once})
	}
	// The values are left out: an instance keeps the credentials it was provisioned with.
	for _, f := range []namedField{{"username", p.Credentials.Username}, {"password", p.Credentials.Password}, {"dbname", p.Credentials.DBName}} {
		if f.field != nil {
			spec.Credentials = append(spec.Credentials, credentialSpec{Name: f.name, Key: f.field.Key, AsFile: f.field.AsFile})
		}
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		panic("catalog: a plan's spec does not marshal: " + err.Error()) // plain data: cannot happen
	}
	// Without its zero values, so that a later release of the broker that adds a container key
	// leaves the digest of every plan that does not use it as it was: no spurious upgrades.
	var tree any
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	if err := decoder.Decode(&tree); err != nil {
		panic("catalog: a plan's spec does not unmarshal: " + err.Error())
	}
	pruned, _ := json.Marshal(withoutZeros(tree)) // map keys sorted: deterministic
	sum := sha256.Sum256(pruned)
	return hex.EncodeToString(sum[:])
}

// withoutZeros drops the members of JSON objects that are null, "", 0, false, [] or {}.
// Array elements are kept, since their positions count.
func withoutZeros(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			member = withoutZeros(member)
			if isZeroJSON(member) {
				delete(v, k)
			} else {
				v[k] = member
			}
		}
	case []any:
		for i := range v {
			v[i] = withoutZeros(v[i])
		}
	}
	return v
}

func isZeroJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// PublishedMaintenance is the maintenance_info the broker publishes for the plan, with the
// plan's spec digest, given the digest and version it published last ("" for never). The
// version stays while the digest does; a changed digest raises its patch number, so that the
// platform offers `cf upgrade-service` for a tag bump without anyone editing a version. It is
// never below the services file's own version, which stays the operator's override (raising
// it by hand still works), nor below the last one published.
func (p Plan) PublishedMaintenance(lastDigest, lastVersion string) (digest string, info MaintenanceInfo) {
	digest = p.SpecDigest()
	floor, description := firstMaintenanceVersion, ""
	if p.MaintenanceInfo != nil {
		floor, description = p.MaintenanceInfo.Version, p.MaintenanceInfo.Description
	}
	version := floor
	if lastVersion != "" {
		version = lastVersion
		if digest != lastDigest {
			version = nextPatch(lastVersion)
		}
		if semver.Compare("v"+version, "v"+floor) < 0 {
			version = floor
		}
	}
	// The file's description may name a tag that was bumped since: the derived part says what runs.
	derived := p.Container.ImageRef() + ", container spec " + digest[:8]
	if description == "" {
		description = derived
	} else {
		description += "; " + derived
	}
	return digest, MaintenanceInfo{Version: version, Description: description}
}

// nextPatch is version with its patch number raised and any pre-release or build dropped:
// greater than version by semver precedence (1.2.3-rc.1 → 1.2.4).
func nextPatch(version string) string {
	m := semverPattern.FindStringSubmatch(version)
	if m == nil {
		return firstMaintenanceVersion // the store holds only versions this package made
	}
	patch, _ := strconv.Atoi(m[3])
	return m[1] + "." + m[2] + "." + strconv.Itoa(patch+1)
}
