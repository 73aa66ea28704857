package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// check is how a container is found healthy.
type check struct {
	command []string // run inside the container; exit status 0 is healthy
	port    string   // a container port ("5432/tcp") that must accept connections
	// probe, when set, speaks the service's protocol on the open connection: some servers
	// accept connections before they accept logins (PostgreSQL answers "the database system
	// is starting up"), and an app handed credentials then would fail.
	probe func(conn net.Conn) error
}

// healthCheck is the plan's health check for inst: its command or TCP port, else the
// credential port, probed in the protocol the credentials' uri names.
func healthCheck(plan catalog.Plan, inst store.Instance) check {
	hc := plan.HealthCheck
	if len(hc.Command) > 0 || hc.TCPPort != "" {
		return check{command: hc.Command, port: hc.TCPPort}
	}
	c := check{port: credentialPort(plan, inst)}
	if plan.Credentials.URI != nil {
		switch plan.Credentials.URI.Prefix {
		case "postgres", "postgresql":
			user := inst.Credentials.Username
			if user == "" {
				user = "postgres"
			}
			c.probe = func(conn net.Conn) error { return probePostgres(conn, user, inst.Credentials.DBName) }
		case "mysql", "mariadb":
			c.probe = probeMySQL
		}
	}
	return c
}

// waitHealthy waits until the container runs and passes the plan's health check.
func (b *Broker) waitHealthy(ctx context.Context, id string, inst store.Instance, plan catalog.Plan) error {
	check := healthCheck(plan, inst)
	timeout, interval := plan.HealthCheck.Timeout.D(), plan.HealthCheck.Interval.D()
	started := time.Now()
	var last error
	for {
		c, err := b.engine.InspectContainer(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case c.State == "exited" || c.State == "dead":
			return fmt.Errorf("container %s exited with status %d before it became healthy", c.Name, c.ExitCode)
		case c.RestartCount >= 3:
			return fmt.Errorf("container %s keeps crashing (restarted %d times) before it became healthy", c.Name, c.RestartCount)
		case c.Running:
			if last = b.healthy(ctx, c, check); last == nil {
				return nil
			}
		}
		if time.Since(started) > timeout {
			return fmt.Errorf("container %s did not become healthy within %s: %v", c.Name, timeout, last)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(pollWait(time.Since(started), interval)):
		}
	}
}

// pollWait is the pause before the next health check: every 20ms for the first seconds (most
// services are up by then, and provision time is what the platform waits for), then the plan's
// interval.
func pollWait(elapsed, interval time.Duration) time.Duration {
	if elapsed < 3*time.Second {
		return min(20*time.Millisecond, interval)
	}
	return interval
}

// healthy runs one health check and says why it failed. Ports are reached on the container's
// own address over the bridge: the published host port would be answered by docker-proxy
// whether or not the service listens.
func (b *Broker) healthy(ctx context.Context, c dockerengine.Container, check check) error {
	if len(check.command) > 0 {
		code, err := b.engine.Exec(ctx, c.ID, check.command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("health check command %s exited with status %d", strconv.Quote(strings.Join(check.command, " ")), code)
		}
		return nil
	}
	number, proto, _ := strings.Cut(check.port, "/")
	if check.port == "" || proto != "tcp" || c.IPAddress == "" {
		return nil // nothing to connect to: running is all there is to check
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(c.IPAddress, number), time.Second)
	if err != nil {
		return fmt.Errorf("nothing accepts connections on %s", check.port)
	}
	defer conn.Close()
	if check.probe == nil {
		return nil
	}
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	return check.probe(conn)
}

// probePostgres sends a PostgreSQL startup message and wants the server to ask for
// authentication: only then does it accept logins.
func probePostgres(conn net.Conn, user, database string) error {
	var params bytes.Buffer
	for _, kv := range [][2]string{{"user", user}, {"database", database}} {
		if kv[1] != "" {
			params.WriteString(kv[0] + "\x00" + kv[1] + "\x00")
		}
	}
	params.WriteByte(0)
	msg := make([]byte, 8, 8+params.Len())
	binary.BigEndian.PutUint32(msg[0:4], uint32(8+params.Len()))
	binary.BigEndian.PutUint32(msg[4:8], 3<<16) // protocol 3.0
	msg = append(msg, params.Bytes()...)
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("postgres does not take a startup message: %w", err)
	}
	reply := make([]byte, 512)
	n, err := io.ReadAtLeast(conn, reply, 1)
	if err != nil {
		return fmt.Errorf("postgres does not answer a startup message: %w", err)
	}
	if reply[0] == 'R' {
		return nil
	}
	return fmt.Errorf("postgres does not accept logins yet: %s", postgresErrorMessage(reply[:n]))
}

// postgresErrorMessage extracts the message (field 'M') of an ErrorResponse.
func postgresErrorMessage(reply []byte) string {
	if len(reply) < 5 || reply[0] != 'E' {
		return fmt.Sprintf("unexpected reply %q", reply[:min(len(reply), 1)])
	}
	for _, field := range bytes.Split(reply[5:], []byte{0}) {
		if len(field) > 1 && field[0] == 'M' {
			return string(field[1:])
		}
	}
	return "an error"
}

// probeMySQL reads the server's greeting: protocol version 10 is a server ready for logins,
// an error packet (0xff) is not.
func probeMySQL(conn net.Conn) error {
	header := make([]byte, 5)
	if _, err := io.ReadFull(conn, header); err != nil {
		return fmt.Errorf("mysql sends no greeting: %w", err)
	}
	if header[4] != 10 {
		return fmt.Errorf("mysql does not accept logins yet (greeting starts with %#x)", header[4])
	}
	return nil
}

// credentialPort is the container port credentials point at: uri.port, or the only port.
func credentialPort(plan catalog.Plan, inst store.Instance) string {
	if plan.Credentials.URI != nil && plan.Credentials.URI.Port != "" {
		return plan.Credentials.URI.Port
	}
	if len(inst.Ports) == 1 {
		for p := range inst.Ports {
			return p
		}
	}
	return ""
}
