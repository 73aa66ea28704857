package catalog

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// Bindings says how a binding of a plan gets a user of its own in the service and loses it
// again (DESIGN.md "Engines"): commands run inside the instance's container with the image's own
// tools. What differs between engines is here, in the services file, never in the broker.
//
// The commands receive, in their environment and nowhere else, BINDING_USERNAME and
// BINDING_PASSWORD (the binding's user) and INSTANCE_USERNAME, INSTANCE_PASSWORD and
// INSTANCE_DBNAME (the instance's admin credentials). Every value is letters, digits and '_'
// (SafeValue), so scripts may put them into SQL and into commands read on stdin.
type Bindings struct {
	Create []string // creates the user if absent; exit status 0 is success
	Drop   []string // removes the user if present and ends its sessions
	// Timeout bounds each command; default one minute.
	Timeout config.Duration
	// Credentials are the fields of the binding's credentials besides host, hostname, port and
	// ports, among username, password, dbname and uri.
	Credentials []string
	// Extra are more credentials, each a template over BindingFacts (a RabbitMQ vhost).
	Extra map[string]*template.Template
}

// BindingFacts are what an extra credential's template may use.
type BindingFacts struct {
	Username, Password, DBName, Host, Port string
}

// Has says whether the binding's credentials include field.
func (b *Bindings) Has(field string) bool {
	return slices.Contains(b.Credentials, field)
}

// The environment variables a binding command receives.
const (
	EnvBindingUsername  = "BINDING_USERNAME"
	EnvBindingPassword  = "BINDING_PASSWORD"
	EnvInstanceUsername = "INSTANCE_USERNAME"
	EnvInstancePassword = "INSTANCE_PASSWORD"
	EnvInstanceDBName   = "INSTANCE_DBNAME"
)

const defaultBindingTimeout = config.Duration(time.Minute)

// bindingFields are the credentials a binding of its own may hand out.
var bindingFields = []string{"username", "password", "dbname", "uri"}

// credentialKeys are the keys of every binding's credentials (credentials.Binding): an extra
// credential must not replace one.
var credentialKeys = []string{"hostname", "host", "port", "ports", "username", "password", "dbname", "uri"}

// SafeValue is what every value handed to a binding command looks like. Generated values
// always do; fixed ones are checked at load.
var SafeValue = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// bindingsSection is a `bindings` object as read, before a plan's credentials complete it.
type bindingsSection struct {
	o           *object // for messages
	bindings    Bindings
	credentials []listItem        // as written; nil means the plan's default
	extraAt     map[string]string // the path of each extra credential, for messages
}

// readBindings reads a `bindings` object of a service or a plan; nil when o is nil.
func readBindings(o *object) *bindingsSection {
	if o == nil {
		return nil
	}
	s := &bindingsSection{o: o, bindings: Bindings{
		Create:  o.words("create"),
		Drop:    o.words("drop"),
		Timeout: o.duration("timeout", defaultBindingTimeout),
	}}
	for _, key := range []string{"create", "drop"} {
		if _, given := o.value(key); !given {
			o.r.problem(o.at(key), "required: the command that %s a binding's user", map[string]string{"create": "creates", "drop": "drops"}[key])
		}
	}
	if _, given := o.value("credentials"); given {
		s.credentials = o.stringItems("credentials")
		if len(s.credentials) == 0 {
			o.r.problem(o.at("credentials"), "empty: list the fields a binding gets, among %s", strings.Join(bindingFields, ", "))
		}
		seen := map[string]bool{}
		for _, item := range s.credentials {
			switch {
			case !slices.Contains(bindingFields, item.text):
				o.r.problem(item.path, "%q: not a credential of a binding's own, use %s", item.text, strings.Join(bindingFields, ", "))
			case seen[item.text]:
				o.r.problem(item.path, "%s is listed twice", item.text)
			}
			seen[item.text] = true
		}
	}
	if extra := o.child("extra_credentials"); extra != nil {
		s.bindings.Extra = map[string]*template.Template{}
		s.extraAt = map[string]string{}
		for _, name := range extra.keys() {
			at := extra.at(name)
			raw, _ := extra.value(name)
			text, ok := o.r.stringAt(at, raw)
			if !ok {
				continue
			}
			if slices.Contains(credentialKeys, name) {
				o.r.problem(at, "%s is a credential every binding has; name the extra differently", name)
				continue
			}
			if t := parseFactTemplate(o.r, at, name, text); t != nil {
				s.bindings.Extra[name] = t
				s.extraAt[name] = at
			}
		}
	}
	o.warnUnknown()
	return s
}

// parseFactTemplate parses a template over BindingFacts and tries it, so that a wrong field
// name is an error at load, not at the first bind.
func parseFactTemplate(r *reader, at, name, text string) *template.Template {
	return parseTemplate(r, at, name, text, BindingFacts{}, ".Username, .Password, .DBName, .Host and .Port")
}

// forPlan completes the section for a plan: the default credentials follow the plan's own,
// and the plan's fixed credential values must be safe to hand to the commands.
func (s *bindingsSection) forPlan(r *reader, planPath string, c Credentials) *Bindings {
	b := s.bindings
	if s.credentials == nil {
		b.Credentials = []string{"username", "password"}
		if c.DBName != nil {
			b.Credentials = append(b.Credentials, "dbname")
		}
		if c.URI != nil && c.URI.Prefix != "" {
			b.Credentials = append(b.Credentials, "uri")
		}
	} else {
		for _, item := range s.credentials {
			b.Credentials = append(b.Credentials, item.text)
			switch {
			case item.text == "dbname" && c.DBName == nil:
				r.problem(item.path, "the plan's credentials have no dbname to hand out")
			case item.text == "uri" && (c.URI == nil || c.URI.Prefix == ""):
				r.problem(item.path, "the plan's credentials have no uri.prefix to build a uri with")
			}
		}
	}
	// The binding's own user gives .Username and .Password; .DBName is the instance's.
	for _, name := range slices.Sorted(maps.Keys(b.Extra)) {
		requireCredentials(r, s.extraAt[name], b.Extra[name], c, "the plan "+planPath, "DBName")
	}
	for _, f := range c.fields() {
		if f.field.Value != "" && f.name != "hostname" && !SafeValue.MatchString(f.field.Value) {
			r.problem(planPath+".credentials."+f.name+".value", "%q: the binding commands receive it, so it may hold only letters, digits and '_'", f.field.Value)
		}
	}
	return &b
}
