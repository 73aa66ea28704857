package catalog

import (
	"regexp"
	"slices"
	"strings"
)

// Credentials says which credentials an instance of the plan gets and how the container learns
// them (ancestors.md §1.5): each field with a Key is passed to the container as the environment
// variable Key, and every field appears in the binding credentials.
type Credentials struct {
	Username *CredentialField
	Password *CredentialField
	DBName   *CredentialField
	Hostname *CredentialField // overrides the `hostname` credential only
	URI      *URISpec
}

// CredentialField is one credential. Value fixes it for every instance instead of generating it.
type CredentialField struct {
	Key   string // environment variable name given to the container; "" passes nothing
	Value string
	// AsFile passes the value in a file instead (POSTGRES_PASSWORD_FILE): Key's variable holds
	// the file's path, SecretPath. An env value shows in `docker inspect`; a file does not.
	AsFile bool
}

// SecretPath is where the container finds the file of credential field ("password") when
// the field is passed as a file.
func SecretPath(field string) string { return "/run/secrets/" + field }

// URISpec builds the `uri` credential, prefix://user:pass@host:port/dbname. Port also chooses
// the `port` credential when the container publishes several. A URISpec may have a Port and
// no Prefix (consul's ops file), in which case there is no `uri` credential.
type URISpec struct {
	Prefix string
	Port   string // "5432/tcp"
}

// namedField pairs a credential with its key in the config, for messages.
type namedField struct {
	name  string
	field *CredentialField
}

// fields lists the configured credential fields in a fixed order.
func (c Credentials) fields() []namedField {
	var named []namedField
	for _, f := range []namedField{{"username", c.Username}, {"password", c.Password}, {"dbname", c.DBName}, {"hostname", c.Hostname}} {
		if f.field != nil {
			named = append(named, f)
		}
	}
	return named
}

// has says whether the plan's credentials include field ("password").
func (c Credentials) has(field string) bool {
	return slices.ContainsFunc(c.fields(), func(f namedField) bool { return f.name == field })
}

// envKeys maps each environment variable the credentials set to its field's path below `credentials`.
func (c Credentials) envKeys() map[string]string {
	keys := map[string]string{}
	for _, f := range c.fields() {
		if f.field.Key != "" {
			keys[f.field.Key] = "credentials." + f.name + ".key"
		}
	}
	return keys
}

// uriSchemePattern is RFC 3986's scheme.
var uriSchemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

func parseCredentials(o *object) Credentials {
	c := Credentials{
		Username: o.credentialField("username"),
		Password: o.credentialField("password"),
		DBName:   o.credentialField("dbname"),
		Hostname: o.credentialField("hostname"),
	}
	if uri := o.child("uri"); uri != nil {
		spec := URISpec{Prefix: strings.TrimSpace(uri.str("prefix")), Port: uri.port("port")}
		if spec.Prefix != "" && !uriSchemePattern.MatchString(spec.Prefix) {
			o.r.problem(uri.at("prefix"), "%q: not a URI scheme such as postgres", spec.Prefix)
		}
		if spec != (URISpec{}) {
			c.URI = &spec
		}
		uri.warnUnknown()
	}
	if c.Password != nil && c.Password.Value != "" {
		o.r.warn(o.at("password.value"), "a fixed password is the same for every instance of the plan; leave it out to generate one per instance")
	}
	seen := map[string]string{}
	for _, f := range c.fields() {
		if f.field.Key == "" {
			continue
		}
		if other, taken := seen[f.field.Key]; taken {
			o.r.problem(o.at(f.name+".key"), "%s is already the key of credentials.%s", f.field.Key, other)
		}
		seen[f.field.Key] = f.name
	}
	o.warnUnknown()
	return c
}

// credentialField reads {key, value, as_file}; nil when the field is absent. A password with
// neither key nor value (`password: {}`) is generated and reaches the container in no
// environment variable: only through files (.Password), so that it shows in no `docker inspect`
// where the image takes it from no *_FILE variable; bindings and their commands get it as ever.
func (o *object) credentialField(name string) *CredentialField {
	fo := o.child(name)
	if fo == nil {
		return nil
	}
	f := CredentialField{Key: strings.TrimSpace(fo.str("key")), Value: fo.str("value"), AsFile: fo.boolean("as_file", false)}
	if f.Key != "" && !isEnvName(f.Key) {
		o.r.problem(fo.at("key"), "%q: not an environment variable name (letters, digits and '_', not starting with a digit)", f.Key)
	}
	if f.AsFile && f.Key == "" {
		o.r.problem(fo.at("as_file"), "needs a key: the environment variable that tells the container the file's path (POSTGRES_PASSWORD_FILE)")
	}
	fo.warnUnknown()
	if f == (CredentialField{}) && name != "password" {
		// A generated username or database name that no variable passes would have to reach
		// the container's service through a file only, which no image needs: rather a mistake.
		o.r.problem(o.at(name), "gives the container nothing: set key (the environment variable that passes it) or value, or leave credentials.%s out; only a password may have neither (generated and passed in no variable: for files, bindings and their commands)", name)
		return nil
	}
	return &f
}
