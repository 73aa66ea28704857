package catalog

import "regexp"

// envNamePattern is what a shell and most images accept as an environment variable name;
// credentials, environment entries and parameters all become such variables.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func isEnvName(name string) bool {
	return envNamePattern.MatchString(name)
}

// cliFriendlyPattern is the OSB recommendation for service and plan names: users type them
// in `cf create-service`.
var cliFriendlyPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func (r *reader) warnIfNotCLIFriendly(path, name string) {
	if name != "" && !cliFriendlyPattern.MatchString(name) {
		r.warn(path, "%q is awkward to type in a CLI; prefer letters, digits, '.', '_' and '-'", name)
	}
}
