package standin_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/nats-io/nats.go"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/standin"
)

// userOfPID1 is the name of the user the container's main process runs as.
func (s *service) userOfPID1() string {
	s.t.Helper()
	code, out := s.exec([]string{"stat", "-c", "%U", "/proc/1"})
	if code != 0 {
		s.t.Fatalf("stat /proc/1: exit %d: %s", code, out)
	}
	return strings.TrimSpace(out)
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// --- Memcached -----------------------------------------------------------------------------

// memcachedStat asks memcached at addr for `stats <group>` and returns the value of name.
func memcachedStat(t *testing.T, addr, group, name string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(conn, "stats %s\r\n", group); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(conn)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 1 && fields[0] == "END" {
			break
		}
		if len(fields) == 3 && fields[0] == "STAT" && fields[1] == name {
			return fields[2]
		}
	}
	t.Fatalf("stats %s: no %s (%v)", group, name, lines.Err())
	return ""
}

// The upstream memcached:1.6 contract: memcached's arguments, memcached implied before
// options, run as user memcache.
func TestMemcachedUpstreamContract(t *testing.T) {
	t.Parallel()
	for name, cmd := range map[string][]string{
		"memcached args": {"memcached", "-m", "32"},
		"options only":   {"-m", "32"},
	} {
		t.Run(name, func(t *testing.T) {
			s := start(t, standin.Memcached, dockerengine.ContainerSpec{Cmd: cmd})
			c := memcache.New(s.addr())
			defer c.Close()
			s.waitFor("memcached answering", func(context.Context) error { return c.Ping() })
			if err := c.Set(&memcache.Item{Key: "k", Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
			if item, err := c.Get("k"); err != nil || string(item.Value) != "v" {
				t.Errorf("get k: %v %v, want v", item, err)
			}
			if got := memcachedStat(t, s.addr(), "settings", "maxbytes"); got != fmt.Sprint(32<<20) {
				t.Errorf("maxbytes %s, want 32 MB (-m 32)", got)
			}
			if u := s.userOfPID1(); u != "memcache" {
				t.Errorf("memcached runs as %s, want memcache", u)
			}
		})
	}
}

// --- NATS ----------------------------------------------------------------------------------

func natsConnect(addr, user, password string) (*nats.Conn, error) {
	return nats.Connect("nats://"+addr, nats.UserInfo(user, password), nats.NoReconnect(), nats.Timeout(3*time.Second))
}

// The default command serves the image's configuration: clients on 4222 without
// authentication, the monitoring endpoint on 8222 (the health check's, with wget).
func TestNATSDefaults(t *testing.T) {
	t.Parallel()
	s := start(t, standin.NATS, dockerengine.ContainerSpec{})
	s.waitFor("nats accepting clients", func(context.Context) error {
		nc, err := natsConnect(s.addr(), "", "")
		if err == nil {
			nc.Close()
		}
		return err
	})
	if code, out := s.exec([]string{"wget", "-q", "-O", "-", "http://127.0.0.1:8222/healthz"}); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("wget /healthz: exit %d: %s", code, out)
	}
}

// Options only (nats-server implied), as the services file runs it: users of an account in an
// included file, reloaded by `nats-server --signal reload=1` (the server is PID 1), and
// JetStream in the volume, kept across a recreate.
func TestNATSUsersReloadAndJetStreamAcrossRecreate(t *testing.T) {
	t.Parallel()
	dir := hostDir(t)
	writeFiles(t, dir, map[string]string{
		"nats.conf": `listen: 0.0.0.0:4222
http: 127.0.0.1:8222
server_name: nats
jetstream { store_dir: /data }
accounts { APP { jetstream: enabled, include "users.conf" } }
`,
		"users.conf": `users: [{user: a, password: a-pw}, {user: b, password: b-pw}]`,
	})
	s := start(t, standin.NATS, dockerengine.ContainerSpec{Cmd: []string{"--config", "/data/nats.conf"}, Binds: []string{dir + ":/data"}})
	s.stopExit = 1
	var a *nats.Conn
	s.waitFor("nats accepting a", func(context.Context) (err error) { a, err = natsConnect(s.addr(), "a", "a-pw"); return err })
	defer a.Close()
	b, err := natsConnect(s.addr(), "b", "b-pw")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	// Publish and subscribe, from one user to the other.
	sub, err := b.SubscribeSync("greetings")
	if err != nil || b.Flush() != nil {
		t.Fatal(err)
	}
	if err := a.Publish("greetings", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || string(m.Data) != "hello" {
		t.Errorf("b received %v, %v; want hello", m, err)
	}
	// A stream that a writes.
	js, err := a.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: "KEPT", Subjects: []string{"kept.>"}, Storage: nats.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish("kept.k", []byte("kept")); err != nil {
		t.Fatal(err)
	}

	// a removed: the reload ends its connection, b's goes on.
	writeFiles(t, dir, map[string]string{"users.conf": `users: [{user: b, password: b-pw}]`})
	if code, out := s.exec([]string{"nats-server", "--signal", "reload=1"}); code != 0 {
		t.Fatalf("nats-server --signal reload=1: exit %d: %s", code, out)
	}
	s.waitFor("a's connection ended by the reload", func(context.Context) error {
		if !a.IsClosed() {
			return errors.New("still open")
		}
		return nil
	})
	if err := b.FlushTimeout(5 * time.Second); err != nil {
		t.Errorf("b's connection after the reload: %v", err)
	}
	b.Close()

	s.recreate()
	s.waitFor("nats accepting b after recreate", func(context.Context) (err error) { b, err = natsConnect(s.addr(), "b", "b-pw"); return err })
	defer b.Close()
	jsB, err := b.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if m, err := jsB.GetLastMsg("KEPT", "kept.k"); err != nil || string(m.Data) != "kept" {
		t.Errorf("after recreate, b reads %v, %v; want kept", m, err)
	}
	if nc, err := natsConnect(s.addr(), "a", "a-pw"); err == nil {
		nc.Close()
		t.Error("the removed user a logs in")
	}
}

// --- Mosquitto -----------------------------------------------------------------------------

func mqttConnect(addr, user, password string) (mqtt.Client, error) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetUsername(user).SetPassword(password).
		SetClientID("standin-test-" + user).SetAutoReconnect(false).SetConnectTimeout(3 * time.Second))
	t := c.Connect()
	if !t.WaitTimeout(10 * time.Second) {
		return nil, errors.New("no CONNACK")
	}
	return c, t.Error()
}

// The upstream eclipse-mosquitto:2.0.22 contract as the services file uses it: the default
// command reads /mosquitto/config/mosquitto.conf, the server runs as user mosquitto, keeps
// retained messages in /mosquitto/data across a recreate, and reloads its password file on
// SIGHUP; mosquitto_passwd takes the password on stdin, mosquitto_sub its options from
// $XDG_CONFIG_HOME (the health check's way, no password on a command line).
func TestMosquittoUpstreamContract(t *testing.T) {
	t.Parallel()
	config, data := hostDir(t), hostDir(t)
	writeFiles(t, config, map[string]string{
		"mosquitto.conf": `persistence true
persistence_location /mosquitto/data/
log_dest stdout
listener 1883
allow_anonymous false
password_file /mosquitto/config/passwd
`,
		"passwd": "",
	})
	s := start(t, standin.Mosquitto, dockerengine.ContainerSpec{Binds: []string{config + ":/mosquitto/config", data + ":/mosquitto/data"}})
	// A SIGHUP that reaches PID 1 before mosquitto installs its handler is dropped (the kernel
	// ignores unhandled signals to a namespace's init), and mosquitto installs it only after
	// opening its listeners. A CONNACK, even a refusal, proves its loop runs, as the broker's
	// health check does before any binding.
	s.waitFor("mosquitto answering CONNECT", func(context.Context) error {
		c, err := mqttConnect(s.addr(), "", "")
		if err == nil {
			c.Disconnect(0)
			return errors.New("an anonymous client connects")
		}
		if errors.Is(err, packets.ErrorRefusedNotAuthorised) {
			return nil
		}
		return err
	})
	const password = "app pw'\"$1"
	if code, out := s.exec([]string{"sh", "-ec", `printf '%s\n%s\n' "$PW" "$PW" | mosquitto_passwd /mosquitto/config/passwd app >/dev/null
kill -HUP 1`}, "PW="+password); code != 0 {
		t.Fatalf("adding a user: exit %d: %s", code, out)
	}
	var c mqtt.Client
	s.waitFor("mosquitto accepting app", func(context.Context) (err error) { c, err = mqttConnect(s.addr(), "app", password); return err })
	if u := s.userOfPID1(); u != "mosquitto" {
		t.Errorf("mosquitto runs as %s, want mosquitto", u)
	}
	if tok := c.Publish("t/kept", 1, true, "kept"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publishing: %v", tok.Error())
	}
	c.Disconnect(250)
	if code, out := s.exec([]string{"sh", "-ec", `mkdir -p /tmp/options
printf -- '-u app\n-P %s\n' "$PW" >/tmp/options/mosquitto_sub
XDG_CONFIG_HOME=/tmp/options mosquitto_sub -E -t t/other
XDG_CONFIG_HOME=/tmp/options mosquitto_sub -t t/kept -C 1 -W 5`}, "PW="+password); code != 0 || strings.TrimSpace(out) != "kept" {
		t.Errorf("mosquitto_sub with options from $XDG_CONFIG_HOME: exit %d: %q, want kept", code, out)
	}
	if c, err := mqttConnect(s.addr(), "", ""); err == nil {
		c.Disconnect(0)
		t.Error("an anonymous client connects")
	}

	s.recreate()
	s.waitFor("mosquitto accepting app after recreate", func(context.Context) (err error) { c, err = mqttConnect(s.addr(), "app", password); return err })
	defer c.Disconnect(250)
	got := make(chan string, 1)
	if tok := c.Subscribe("t/kept", 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribing: %v", tok.Error())
	}
	select {
	case v := <-got:
		if v != "kept" {
			t.Errorf("after recreate, retained %q, want kept", v)
		}
	case <-time.After(10 * time.Second):
		t.Error("after recreate, no retained message: the persistence file was not kept")
	}
}
