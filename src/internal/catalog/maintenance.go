package catalog

import "regexp"

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
