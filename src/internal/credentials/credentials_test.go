package credentials

import (
	"strings"
	"testing"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

func TestRandomSecretsUseTheAlphabetAndDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := Random(24)
		if len(s) != 24 || strings.Trim(s, alphabet) != "" {
			t.Fatalf("%q: want 24 characters of [a-z0-9]", s)
		}
		if seen[s] {
			t.Fatalf("%q generated twice", s)
		}
		seen[s] = true
	}
	if id := Identifier(16); len(id) != 16 || id[0] < 'a' || id[0] > 'z' {
		t.Errorf("identifier %q must be 16 characters starting with a letter", id)
	}
}

func TestBindingPicksTheCredentialPort(t *testing.T) {
	inst := store.Instance{
		Ports:       map[string]string{"5432/tcp": "20001", "8008/tcp": "20002"},
		Credentials: store.Credentials{Username: "u1", Password: "p@ss/word", DBName: "d1"},
	}
	plan := catalog.Plan{Credentials: catalog.Credentials{
		Username: &catalog.CredentialField{Key: "U"}, Password: &catalog.CredentialField{Key: "P"},
		DBName: &catalog.CredentialField{Key: "D"}, URI: &catalog.URISpec{Prefix: "postgres", Port: "5432/tcp"},
	}}
	b := mustBind(t, plan, inst, "10.0.0.5", nil)
	if b.Port != "20001" || b.Host != "10.0.0.5" || b.Hostname != "10.0.0.5" || len(b.Ports) != 2 {
		t.Errorf("binding %+v: want port 20001 (uri.port) of two ports on 10.0.0.5", b)
	}
	if b.URI != "postgres://u1:p%40ss%2Fword@10.0.0.5:20001/d1" {
		t.Errorf("uri %q: user and password must be escaped", b.URI)
	}
	plan.Credentials.URI = nil
	if b := mustBind(t, plan, inst, "h", nil); b.Port != "" || b.URI != "" {
		t.Errorf("two ports and no uri.port: port %q uri %q, want neither", b.Port, b.URI)
	}
}

func TestBindingOfAPasswordOnlyService(t *testing.T) {
	inst := store.Instance{Ports: map[string]string{"6379/tcp": "20003"}, Credentials: store.Credentials{Password: "secret"}}
	plan := catalog.Plan{Credentials: catalog.Credentials{Password: &catalog.CredentialField{Key: "REDIS_PASSWORD"}, URI: &catalog.URISpec{Prefix: "redis"}}}
	b := mustBind(t, plan, inst, "h", nil)
	if b.Port != "20003" || b.Username != "" || b.DBName != "" {
		t.Errorf("binding %+v: want the single port and no username or dbname", b)
	}
	if b.URI != "redis://:secret@h:20003" {
		t.Errorf("uri %q: redis clients read the password after an empty user", b.URI)
	}
	if json := string(b.JSON()); strings.Contains(json, "username") || !strings.Contains(json, `"ports":{"6379/tcp":"20003"}`) {
		t.Errorf("credentials JSON %s", json)
	}
}

func TestHostnameOverrideAndSyslogDrainAndEndpoints(t *testing.T) {
	inst := store.Instance{Ports: map[string]string{"514/tcp": "20010", "514/udp": "20011", "9200/tcp": "20012"}}
	plan := catalog.Plan{
		Credentials:     catalog.Credentials{Hostname: &catalog.CredentialField{Value: "logs.example.com"}},
		SyslogDrainPort: "514/tcp", SyslogDrainProtocol: "syslog-tls",
	}
	if b := mustBind(t, plan, inst, "10.0.0.5", nil); b.Hostname != "logs.example.com" || b.Host != "10.0.0.5" {
		t.Errorf("hostname override: %+v", b)
	}
	if url := SyslogDrainURL(plan, inst, "10.0.0.5"); url != "syslog-tls://10.0.0.5:20010" {
		t.Errorf("syslog drain url %q", url)
	}
	plan.SyslogDrainPort = ""
	if url := SyslogDrainURL(plan, inst, "10.0.0.5"); url != "" {
		t.Errorf("a plan without a drain port has drain url %q", url)
	}
	endpoints := Endpoints(inst, "10.0.0.5")
	if len(endpoints) != 2 || endpoints[0].Protocol != "tcp" || strings.Join(endpoints[0].Ports, ",") != "20010,20012" || endpoints[1].Protocol != "udp" {
		t.Errorf("endpoints %+v: want tcp 20010,20012 and udp 20011", endpoints)
	}
}

func mustBind(t *testing.T, plan catalog.Plan, inst store.Instance, host string, user *store.BindingUser) Binding {
	t.Helper()
	b, err := ForBinding(plan, inst, host, user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBindingOfItsOwnCarriesItsUserNeverTheAdmin(t *testing.T) {
	inst := store.Instance{
		Ports:       map[string]string{"5672/tcp": "20001", "15672/tcp": "20002"},
		Credentials: store.Credentials{Username: "admin1", Password: "adminpass", DBName: "vhost1"},
	}
	cat, _, err := catalog.Parse([]byte(`[{"id": "s", "name": "rabbitmq", "description": "d", "plans": [{
		"id": "p", "name": "small", "description": "d",
		"container": {"backend": "docker", "image": "rabbitmq", "tag": "4-management", "expose_ports": ["5672/tcp", "15672/tcp"]},
		"credentials": {"username": {"key": "U"}, "password": {"key": "P_FILE", "as_file": true}, "dbname": {"key": "V"}, "uri": {"prefix": "amqp", "port": "5672/tcp"}},
		"bindings": {"create": ["true"], "drop": ["true"], "credentials": ["username", "password", "uri"],
			"extra_credentials": {"vhost": "{{.DBName}}", "management": "http://{{.Host}}:15672"}}}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	plan := cat.Services[0].Plans[0]
	b := mustBind(t, plan, inst, "10.0.0.5", &store.BindingUser{Username: "u1", Password: "p1"})
	if b.Username != "u1" || b.Password != "p1" || b.DBName != "" || b.Port != "20001" {
		t.Errorf("binding %+v: want user u1 with its password, no dbname (not listed), port 20001", b)
	}
	if b.URI != "amqp://u1:p1@10.0.0.5:20001/vhost1" {
		t.Errorf("uri %q: want the binding's user on the instance's vhost", b.URI)
	}
	json := string(b.JSON())
	for _, want := range []string{`"vhost":"vhost1"`, `"management":"http://10.0.0.5:15672"`, `"username":"u1"`} {
		if !strings.Contains(json, want) {
			t.Errorf("credentials %s lack %s", json, want)
		}
	}
	for _, admin := range []string{"admin1", "adminpass"} {
		if strings.Contains(json, admin) {
			t.Errorf("credentials %s carry the instance's admin credential %s", json, admin)
		}
	}
}
