package credentials

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// Binding is the `credentials` object of a binding, in the shape apps of the original broker
// read (seed README): host and hostname, port, ports, username, password, dbname, uri. Ports
// are strings, as they always were ("32768"), so existing apps keep parsing them.
type Binding struct {
	Hostname string            `json:"hostname"`
	Host     string            `json:"host"`
	Port     string            `json:"port,omitempty"`
	Ports    map[string]string `json:"ports,omitempty"`
	Username string            `json:"username,omitempty"`
	Password string            `json:"password,omitempty"`
	DBName   string            `json:"dbname,omitempty"`
	URI      string            `json:"uri,omitempty"`
	// Extra are the engine's own additions (a RabbitMQ vhost), from the plan's
	// bindings.extra_credentials.
	Extra map[string]string `json:"-"`
}

// Endpoint is one host and the ports apps must reach on it, per protocol.
type Endpoint struct {
	Host     string
	Ports    []string
	Protocol string
}

// ForBinding builds the credentials of a binding to inst, an instance of plan, reached at host.
// user is the binding's own user when the plan gives each binding one (plan.Bindings): then the
// credentials carry it and never the instance's admin user; else (nil) they carry the
// instance's credentials, shared by every binding.
func ForBinding(plan catalog.Plan, inst store.Instance, host string, user *store.BindingUser) (Binding, error) {
	spec := plan.Credentials
	b := Binding{Hostname: host, Host: host}
	if spec.Hostname != nil && spec.Hostname.Value != "" {
		b.Hostname = spec.Hostname.Value
	}
	if len(inst.Ports) > 0 {
		b.Ports = inst.Ports
	}
	switch {
	case spec.URI != nil && spec.URI.Port != "":
		b.Port = inst.Ports[spec.URI.Port]
	case len(inst.Ports) == 1:
		for _, hostPort := range inst.Ports {
			b.Port = hostPort
		}
	}
	own := plan.Bindings
	if own == nil {
		if spec.Username != nil {
			b.Username = inst.Credentials.Username
		}
		if spec.Password != nil {
			b.Password = inst.Credentials.Password
		}
		if spec.DBName != nil {
			b.DBName = inst.Credentials.DBName
		}
		if spec.URI != nil && spec.URI.Prefix != "" {
			b.URI = buildURI(spec.URI.Prefix, b)
		}
		return b, nil
	}
	if own.Has("username") {
		b.Username = user.Username
	}
	if own.Has("password") {
		b.Password = user.Password
	}
	if own.Has("dbname") {
		b.DBName = inst.Credentials.DBName
	}
	if own.Has("uri") {
		// The uri always names the binding's user and database, whichever fields are listed.
		b.URI = buildURI(spec.URI.Prefix, Binding{Hostname: b.Hostname, Port: b.Port, Username: user.Username, Password: user.Password, DBName: inst.Credentials.DBName})
	}
	facts := catalog.BindingFacts{Username: user.Username, Password: user.Password, DBName: inst.Credentials.DBName, Host: b.Hostname, Port: b.Port}
	for name, t := range own.Extra {
		var text strings.Builder
		if err := t.Execute(&text, facts); err != nil {
			return Binding{}, fmt.Errorf("extra credential %s: %w", name, err)
		}
		if b.Extra == nil {
			b.Extra = map[string]string{}
		}
		b.Extra[name] = text.String()
	}
	return b, nil
}

// buildURI is prefix://[user[:pass]@]host[:port][/dbname], with user and password escaped.
func buildURI(prefix string, b Binding) string {
	u := url.URL{Scheme: prefix, Host: b.Hostname}
	if b.Port != "" {
		u.Host = net.JoinHostPort(b.Hostname, b.Port)
	}
	switch {
	case b.Username != "" && b.Password != "":
		u.User = url.UserPassword(b.Username, b.Password)
	case b.Username != "":
		u.User = url.User(b.Username)
	case b.Password != "":
		// A service with a password and no user (redis): the password goes where the user
		// would, as redis:// clients expect (":password@host").
		u.User = url.UserPassword("", b.Password)
	}
	if b.DBName != "" {
		u.Path = "/" + b.DBName
	}
	return u.String()
}

// Endpoints lists host and published ports per protocol, for the platform's network policies.
func Endpoints(inst store.Instance, host string) []Endpoint {
	byProtocol := map[string][]string{}
	for containerPort, hostPort := range inst.Ports {
		_, proto, _ := strings.Cut(containerPort, "/")
		byProtocol[proto] = append(byProtocol[proto], hostPort)
	}
	var out []Endpoint
	for proto, ports := range byProtocol {
		sort.Strings(ports)
		out = append(out, Endpoint{Host: host, Ports: ports, Protocol: proto})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Protocol < out[j].Protocol })
	return out
}

// SyslogDrainURL is protocol://host:port of the plan's syslog drain port, or "" when the plan
// is no drain.
func SyslogDrainURL(plan catalog.Plan, inst store.Instance, host string) string {
	hostPort := inst.Ports[plan.SyslogDrainPort]
	if plan.SyslogDrainPort == "" || hostPort == "" {
		return ""
	}
	return plan.SyslogDrainProtocol + "://" + net.JoinHostPort(host, hostPort)
}

// JSON is b as the raw `credentials` object, extras beside the standard fields.
func (b Binding) JSON() json.RawMessage {
	type standard Binding                // without this method, so that Marshal does not recurse
	data, _ := json.Marshal(standard(b)) // strings and string maps always marshal
	if len(b.Extra) == 0 {
		return data
	}
	var fields map[string]any
	_ = json.Unmarshal(data, &fields)
	for name, value := range b.Extra {
		fields[name] = value
	}
	data, _ = json.Marshal(fields)
	return data
}
