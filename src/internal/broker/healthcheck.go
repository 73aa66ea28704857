package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/catalog"
	"github.com/cloudfoundry-community/docker-broker/src/internal/credentials"
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

// crashRestarts is how often a container may restart while the broker waits for it before it
// counts as crash-looping: the engine restarts it, but a service that crashes at start does so
// again.
const crashRestarts = 2

// waitHealthy waits until the container runs and passes the plan's health check for the plan's
// hold period without a restart in between: ready means that the service accepts clients, not
// that it did once. A container that stops or keeps restarting fails the wait with a message
// for the platform's user that says why (exit code, a full disk, its last log line).
func (b *Broker) waitHealthy(ctx context.Context, id string, inst store.Instance, plan catalog.Plan) error {
	check := healthCheck(plan, inst)
	hc := plan.HealthCheck
	started := time.Now()
	var last error
	var passing dockerengine.Container // the container as it was when the check began to pass
	var passingSince time.Time         // zero while the check does not pass
	baseline := -1                     // the restart count when the wait began
	for {
		lookedAt := time.Now()
		c, err := b.engine.InspectContainer(ctx, id)
		if err != nil {
			return err
		}
		if baseline < 0 {
			baseline = c.RestartCount
		}
		restarts := c.RestartCount - baseline
		switch {
		case c.State == "exited" || c.State == "dead":
			return b.crashed(ctx, c, inst, fmt.Sprintf("its container stopped with exit code %d", c.ExitCode))
		case restarts >= crashRestarts:
			return b.crashed(ctx, c, inst, fmt.Sprintf("its container keeps crashing (exit code %d, restarted %d times)", c.ExitCode, restarts))
		case c.State == "restarting" || !c.Running:
			last, passingSince = fmt.Errorf("its container is %s", c.State), time.Time{}
		default:
			checkedAt := time.Now()
			last = b.healthy(ctx, c, check)
			switch {
			case last != nil:
				passingSince = time.Time{}
			case passingSince.IsZero() || c.Pid != passing.Pid || c.RestartCount != passing.RestartCount:
				// From when the check began: a connection that a check keeps open for a
				// moment (stillOpen) shows the service there from its start.
				passing, passingSince = c, checkedAt
			}
			if last == nil && time.Since(passingSince) >= hc.Hold.D() {
				return nil
			}
		}
		if time.Since(started) > hc.Timeout.D() {
			if last == nil {
				last = fmt.Errorf("its health check passed for less than %s at a time", hc.Hold.D())
			}
			return forUser(nil, "the service did not become ready within %s: %v; the operator finds its log in the broker's", hc.Timeout.D(), last)
		}
		wait := pollWait(time.Since(started), hc.Interval.D())
		if last == nil {
			wait = holdWait(wait, hc.Interval.D(), hc.Hold.D()-time.Since(passingSince), time.Since(lookedAt))
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(wait):
		}
	}
}

// logTail is how many of a crashed container's last log lines the broker reads to tell why.
const logTail = 20

// crashed is the failure of a container that stopped or crash-loops before it became ready:
// what happened, whether the data disk is full, and the service's last log line with every
// secret of the instance redacted. The whole tail goes to the operator's log, redacted too.
func (b *Broker) crashed(ctx context.Context, c dockerengine.Container, inst store.Instance, what string) error {
	logs, err := b.engine.ContainerLogs(ctx, c.ID, logTail)
	if err != nil {
		b.log.Warn("the log of a crashed container could not be read", "container", c.Name, "error", err.Error())
	}
	tail := credentials.Redact(string(logs), inst.Credentials.Password, inst.Credentials.Username)
	b.log.Error("container crashed before it became ready", "instance_id", inst.ID, "container", c.Name, "state", c.State, "exit_code", c.ExitCode, "restarts", c.RestartCount, "log_tail", tail)
	message := "the service did not start: " + what
	if diskFull(tail) || b.disk.NearlyFull(ctx, inst.ID) {
		message += "; the service host's data disk is full: ask the operator to free or grow it"
	}
	if line := lastLine(tail); line != "" {
		message += "; its last log line: " + line
	}
	return forUser(nil, "%s", message)
}

// lastLine is the last non-blank line of text, cut to a length a description can carry.
func lastLine(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n\r\t "), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 300 {
		line = line[:300] + "..."
	}
	return line
}

// diskFull says whether the service said that it crashed for want of disk space.
func diskFull(logs string) bool {
	return strings.Contains(strings.ToLower(logs), "no space left on device")
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

// holdWait is the pause before the next look while the check passes, holdLeft before the hold
// ends: nothing is to be found sooner than the look that can end the hold, which takes as long
// as this one took. Within the plan's interval, so that a hold longer than that is still
// watched, and never shorter than the poll.
func holdWait(poll, interval, holdLeft, look time.Duration) time.Duration {
	return max(poll, min(interval, holdLeft-look))
}

// healthy runs one health check and says why it failed. Ports are reached on the container's
// own address over the bridge: the published host port would be answered by docker-proxy
// whether or not the service listens.
func (b *Broker) healthy(ctx context.Context, c dockerengine.Container, check check) error {
	if len(check.command) > 0 {
		res, err := b.runInContainer(ctx, c.ID, dockerengine.Exec{Cmd: check.command}, nil)
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("health check command %s exited with status %d", strconv.Quote(strings.Join(check.command, " ")), res.ExitCode)
		}
		return nil
	}
	if _, proto, _ := strings.Cut(check.port, "/"); check.port == "" || proto != "tcp" {
		return nil // nothing to connect to: running is all there is to check
	}
	address, err := portAddress(c, check.port)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", address, time.Second)
	if err != nil {
		return fmt.Errorf("nothing accepts connections on its port %s", check.port)
	}
	defer conn.Close()
	switch {
	case check.probe != nil:
		_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
		return check.probe(conn)
	case c.Node != "":
		return stillOpen(conn, check.port)
	}
	return nil
}

// portAddress is where the broker reaches the container's port: the container's own address,
// or, on a machine other than the broker's, the port published at that machine's address.
func portAddress(c dockerengine.Container, port string) (string, error) {
	if c.Node == "" {
		if c.IPAddress == "" {
			// The engine reports a container it is restarting as running, without an address.
			return "", errors.New("its container has no network address yet")
		}
		number, _, _ := strings.Cut(port, "/")
		return net.JoinHostPort(c.IPAddress, number), nil
	}
	for _, p := range c.Ports {
		if p.ContainerPort == port && p.HostPort != "" {
			return net.JoinHostPort(p.HostIP, p.HostPort), nil
		}
	}
	return "", fmt.Errorf("its port %s is not published on its node %s", port, c.Node)
}

// stillOpen tells a service that took the connection from docker-proxy, which accepts on a
// published port whatever the container behind does and closes at once when nothing listens
// there: a connection still open (or answering) after a moment is the service's.
func stillOpen(conn net.Conn, port string) error {
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err := conn.Read(make([]byte, 1))
	var timeout net.Error
	if err == nil || errors.As(err, &timeout) && timeout.Timeout() {
		return nil
	}
	return fmt.Errorf("nothing accepts connections on its port %s behind the published one", port)
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
