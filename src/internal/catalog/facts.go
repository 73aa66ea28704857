package catalog

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// InstanceFacts are what a templated environment value or file may use: where apps reach the
// instance (Kafka advertises its listener at .ExternalHost and .HostPort "9092/tcp"). There is
// no secret among them: an environment value shows in `docker inspect`. FileFacts add the
// credentials for files, which only the volume holds.
type InstanceFacts struct {
	InstanceID    string
	ContainerName string // cf-<instance id>, also the container's NAME variable
	ExternalHost  string // the host apps connect to, as in the credentials
	// ports are the instance's host ports by container port, as allocated before the container
	// spec is built; HostPort reads them.
	ports map[string]string
	// anyPort is set for the facts a template is tried on at load when the image decides which
	// ports the container publishes: then any port may be there.
	anyPort bool
}

// NewInstanceFacts are the facts of an instance whose container ports ("9092/tcp") are
// published on the host ports of ports.
func NewInstanceFacts(instanceID, containerName, externalHost string, ports map[string]string) InstanceFacts {
	return InstanceFacts{InstanceID: instanceID, ContainerName: containerName, ExternalHost: externalHost, ports: ports}
}

// HostPort is the host port that apps reach containerPort ("9092/tcp", or "9092" for TCP) at.
func (f InstanceFacts) HostPort(containerPort string) (string, error) {
	port, err := parsePort(containerPort)
	if err != nil {
		return "", err
	}
	if hostPort, ok := f.ports[port]; ok {
		return hostPort, nil
	}
	if f.anyPort {
		return sampleHostPort, nil
	}
	return "", fmt.Errorf("the container publishes no port %s", port)
}

// FileFacts are what a file's content may use: the instance's facts and its credentials. A file
// in the instance's volume is where a secret may go when the image takes it from no file of its
// own (RabbitMQ's default_pass in rabbitmq.conf).
type FileFacts struct {
	InstanceFacts
	Username, Password, DBName string
}

// sampleHostPort is the host port of the facts templates are tried on at load.
const sampleHostPort = "49152"

// sampleFacts are made-up facts of an instance of container c, to try its templates on at load:
// a template that would fail for every instance (a field that is no fact, a port the container
// does not publish) fails there.
func sampleFacts(c Container) InstanceFacts {
	f := InstanceFacts{
		InstanceID:    "00000000-0000-0000-0000-000000000000",
		ContainerName: "cf-00000000-0000-0000-0000-000000000000",
		ExternalHost:  "203.0.113.1",
		ports:         map[string]string{},
		anyPort:       len(c.ExposePorts) == 0,
	}
	for _, port := range c.ExposePorts {
		f.ports[port] = sampleHostPort
	}
	return f
}

// The facts a template may use, for messages.
const (
	instanceFactNames = `.InstanceID, .ContainerName, .ExternalHost and .HostPort "port/proto"`
	fileFactNames     = `.InstanceID, .ContainerName, .ExternalHost, .HostPort "port/proto", .Username, .Password and .DBName`
)

// parseTemplate parses text as a template named name and tries it on sample, so that a wrong
// field name or argument is an error at load, not at the first provision. over names the facts
// for the message.
func parseTemplate(r *reader, at, name, text string, sample any, over string) *template.Template {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err == nil {
		err = t.Execute(&strings.Builder{}, sample)
	}
	if err != nil {
		// A file's content is too long to repeat: the error has its line.
		subject := fmt.Sprintf("%q: ", text)
		if len(text) > 80 || strings.Contains(text, "\n") {
			subject = ""
		}
		r.problem(at, "%snot a template over %s: %v", subject, over, err)
		return nil
	}
	return t
}

// credentialFacts maps each fact of FileFacts and BindingFacts that holds an instance's
// credential to the field of `credentials` that makes it, and how to add that field. A plan
// without the field has no such credential: the fact renders as "" for every instance (a config
// file with an empty password) instead of failing.
var credentialFacts = map[string]struct{ field, fix string }{
	"Username": {"username", "add credentials.username with the key that passes it to the container, or a value"},
	"Password": {"password", "add credentials.password (`{}` generates one given to no variable)"},
	"DBName":   {"dbname", "add credentials.dbname with the key that passes it to the container, or a value"},
}

// requireCredentials reports at `at` each of facts (names in credentialFacts) that t uses while
// c, the credentials of plan (for the message), lacks its field.
func requireCredentials(r *reader, at string, t *template.Template, c Credentials, plan string, facts ...string) {
	used := fieldsUsed(t)
	for _, fact := range facts {
		need := credentialFacts[fact]
		if used[fact] && !c.has(need.field) {
			r.problem(at, "uses .%s but %s has no %s: %s", fact, plan, need.field, need.fix)
		}
	}
}

// fieldsUsed are the names of the fields that t, and the templates it defines, read from the
// data, wherever they stand: in a branch never taken at load, after $ (`$.Password`) or a
// variable, in a pipeline. A field read after a with or range changed the dot counts too: the
// dot is then a fact's value, which has no such field, and trying t at load fails anyway.
func fieldsUsed(t *template.Template) map[string]bool {
	used := map[string]bool{}
	var walk func(parse.Node)
	walkBranch := func(b parse.BranchNode) {
		walk(b.Pipe)
		walk(b.List)
		walk(b.ElseList)
	}
	walk = func(node parse.Node) {
		switch n := node.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, child := range n.Nodes {
					walk(child)
				}
			}
		case *parse.PipeNode:
			if n != nil {
				for _, cmd := range n.Cmds {
					walk(cmd)
				}
			}
		case *parse.CommandNode:
			for _, arg := range n.Args {
				walk(arg)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walkBranch(n.BranchNode)
		case *parse.RangeNode:
			walkBranch(n.BranchNode)
		case *parse.WithNode:
			walkBranch(n.BranchNode)
		case *parse.FieldNode:
			used[n.Ident[0]] = true
		case *parse.VariableNode:
			if len(n.Ident) > 1 {
				used[n.Ident[1]] = true
			}
		case *parse.ChainNode:
			used[n.Field[0]] = true
			walk(n.Node)
		}
	}
	for _, defined := range t.Templates() {
		if defined.Tree != nil {
			walk(defined.Root)
		}
	}
	return used
}
