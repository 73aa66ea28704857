package catalog

import (
	"fmt"
	"strings"
	"text/template"
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
