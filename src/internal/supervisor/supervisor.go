// Package supervisor runs dockerd the way the BOSH `docker` job needs it: configured from one
// file, watched until its API answers, restarted with backoff when it dies, stopped gracefully
// on SIGTERM, and given its images (preloaded archives, background pulls) once it is ready.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/swarmjoin"
)

// Engine is what the supervisor asks of the Docker Engine API it brings up; with swarm on, also
// what joining the swarm asks of it.
type Engine interface {
	swarmjoin.Engine
	Ping(ctx context.Context) error
	LoadImage(ctx context.Context, archive io.Reader, report func(dockerengine.Progress)) error
	PullImage(ctx context.Context, ref string, report func(dockerengine.Progress)) error
}

// Supervisor runs one dockerd.
type Supervisor struct {
	cfg    Config
	engine Engine
	log    *slog.Logger
}

// New returns a supervisor for cfg (already validated) that reaches dockerd's API through engine.
func New(cfg Config, engine Engine, log *slog.Logger) *Supervisor {
	return &Supervisor{cfg: cfg, engine: engine, log: log}
}

// Run starts dockerd and keeps it running until ctx is cancelled, then stops it gracefully and
// returns nil. It returns an error when the host cannot be prepared or when dockerd failed to
// start (or died) more than restart.max_retries times in a row.
func (s *Supervisor) Run(ctx context.Context) error {
	if err := s.prepareHost(); err != nil {
		return err
	}
	var background sync.WaitGroup
	defer background.Wait()
	imagesDone := false
	failures := 0
	for {
		d, err := s.startDockerd()
		if err == nil {
			err = s.waitReady(ctx, d)
		}
		if err == nil {
			s.log.Info("dockerd ready", "socket", s.cfg.Socket, "pid", d.cmd.Process.Pid)
			if !imagesDone {
				imagesDone = true
				s.preloadImages(ctx)
				background.Go(func() { s.pullImages(ctx) })
				if s.cfg.Swarm.Enabled {
					background.Go(func() { s.joinSwarm(ctx) })
				}
			}
			readyAt := time.Now()
			select {
			case <-ctx.Done():
				s.stopDockerd(d)
				return nil
			case <-d.done:
			}
			if time.Since(readyAt) >= s.cfg.Restart.StableAfter.D() {
				failures = 0
			}
			err = fmt.Errorf("dockerd exited: %v; its log ends with:\n%s", d.exitErr, d.logTail())
		}
		if ctx.Err() != nil {
			return nil
		}
		failures++
		if failures > s.cfg.Restart.MaxRetries {
			return fmt.Errorf("giving up after %d failed starts of dockerd in a row (restart.max_retries is %d): %w", failures, s.cfg.Restart.MaxRetries, err)
		}
		wait := s.backoff(failures)
		s.log.Error("dockerd is down; restarting it", "error", err.Error(), "attempt", failures, "in", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// joinSwarm makes the engine a member of the deployment's swarm, trying until it is or ctx ends
// (the other VMs may come up later). Once joined, dockerd keeps its membership in its data root.
func (s *Supervisor) joinSwarm(ctx context.Context) {
	log := s.log.With("swarm", s.cfg.Swarm.AdvertiseAddress)
	if err := swarmjoin.New(s.cfg.Swarm, s.engine, swarmjoin.ConnectTLS(s.cfg.Swarm), log).Run(ctx); err != nil {
		log.Info("stopped trying to join the swarm", "reason", err.Error())
		return
	}
	log.Info("the engine is a member of the swarm")
}

// backoff is the wait before restart attempt n (1-based): initial_backoff doubled n-1 times,
// at most max_backoff.
func (s *Supervisor) backoff(n int) time.Duration {
	wait := s.cfg.Restart.InitialBackoff.D()
	for i := 1; i < n && wait < s.cfg.Restart.MaxBackoff.D(); i++ {
		wait *= 2
	}
	return min(wait, s.cfg.Restart.MaxBackoff.D())
}

// dockerd is one run of the dockerd process.
type dockerd struct {
	cmd       *exec.Cmd
	logFile   string
	logOffset int64 // where this run's output starts in logFile
	done      chan struct{}
	exitErr   error // valid once done is closed
}

func (s *Supervisor) startDockerd() (*dockerd, error) {
	logf, err := os.OpenFile(s.cfg.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening dockerd's log: %w", err)
	}
	offset, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(s.cfg.Dockerd, s.cfg.dockerdArgs()...)
	cmd.Env = s.cfg.dockerdEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group keeps a terminal's Ctrl-C away from dockerd: the supervisor stops it
	// in order. Pdeathsig takes it down should the supervisor be killed outright.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	d := &dockerd{cmd: cmd, logFile: s.cfg.LogFile, logOffset: offset, done: make(chan struct{})}
	started := make(chan error)
	go func() {
		// Pdeathsig fires when the thread that started the child exits, not the process:
		// this goroutine keeps its thread until dockerd has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.exitErr = cmd.Wait()
		close(d.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s: %w", s.cfg.Dockerd, err)
	}
	s.log.Info("dockerd started", "pid", cmd.Process.Pid, "args", strings.Join(cmd.Args[1:], " "), "log", s.cfg.LogFile)
	return d, nil
}

// waitReady polls the Engine API until it answers, dockerd exits, or ready_timeout passes.
func (s *Supervisor) waitReady(ctx context.Context, d *dockerd) error {
	deadline := time.Now().Add(s.cfg.ReadyTimeout.D())
	for {
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		err := s.engine.Ping(pingCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("dockerd exited before its API answered: %v; its log ends with:\n%s", d.exitErr, d.logTail())
		case <-ctx.Done():
			s.stopDockerd(d)
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.kill()
			return fmt.Errorf("dockerd's API did not answer on %s within ready_timeout %s; its log ends with:\n%s", s.cfg.Socket, s.cfg.ReadyTimeout.D(), d.logTail())
		}
	}
}

// stopDockerd sends SIGTERM and waits stop_timeout for dockerd to exit, then kills it.
// With live_restore the containers keep running; dockerd picks them up when it comes back.
func (s *Supervisor) stopDockerd(d *dockerd) {
	s.log.Info("stopping dockerd", "pid", d.cmd.Process.Pid, "timeout", s.cfg.StopTimeout.D().String())
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		s.log.Info("dockerd stopped", "status", exitStatus(d.exitErr))
	case <-time.After(s.cfg.StopTimeout.D()):
		s.log.Error("dockerd did not stop within stop_timeout; killing it", "timeout", s.cfg.StopTimeout.D().String())
		d.kill()
	}
}

func (d *dockerd) kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// logTail returns the last lines dockerd wrote in this run, for error messages: a failed
// start is explained by dockerd's own words, not by a timeout.
func (d *dockerd) logTail() string {
	const maxBytes, maxLines = 4096, 20
	f, err := os.Open(d.logFile)
	if err != nil {
		return "(dockerd's log cannot be read: " + err.Error() + ")"
	}
	defer f.Close()
	end, _ := f.Seek(0, io.SeekEnd)
	start := max(d.logOffset, end-maxBytes)
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return "(dockerd's log cannot be read: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(dockerd wrote nothing)"
	}
	return strings.Join(lines, "\n")
}

// prepareHost creates the directories dockerd needs and sets up what it expects of the host:
// cgroups, the open-files limit, vm.max_map_count and the bridge.
func (s *Supervisor) prepareHost() error {
	for _, dir := range []string{s.cfg.DataRoot, s.cfg.ExecRoot, filepath.Dir(s.cfg.Socket), filepath.Dir(s.cfg.Pidfile), filepath.Dir(s.cfg.LogFile)} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := mountCgroups(s.log); err != nil {
		return err
	}
	limit := &syscall.Rlimit{Cur: s.cfg.MaxOpenFiles, Max: s.cfg.MaxOpenFiles}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, limit); err != nil {
		s.log.Warn("cannot raise the open-files limit; dockerd keeps the current one", "max_open_files", s.cfg.MaxOpenFiles, "error", err.Error())
	}
	if s.cfg.VMMaxMapCount > 0 {
		if err := os.WriteFile("/proc/sys/vm/max_map_count", []byte(fmt.Sprint(s.cfg.VMMaxMapCount)), 0o644); err != nil {
			return fmt.Errorf("setting vm.max_map_count (vm_max_map_count): %w", err)
		}
	}
	if s.cfg.BridgeCIDR != "" {
		if err := ensureBridge(s.cfg.Bridge, s.cfg.BridgeCIDR, s.log); err != nil {
			return err
		}
	}
	return nil
}
