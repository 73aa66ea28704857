package boshrelease

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
)

// BPMConfig is a job's config/bpm.yml: the processes bpm runs for it.
type BPMConfig struct {
	Processes []BPMProcess `yaml:"processes"`
}

// BPMProcess is one process of a bpm config (bpm's config/job_config.go).
type BPMProcess struct {
	Name              string            `yaml:"name"`
	Executable        string            `yaml:"executable"`
	Args              []string          `yaml:"args"`
	Env               map[string]string `yaml:"env"`
	WorkDir           string            `yaml:"workdir"`
	ShutdownSignal    string            `yaml:"shutdown_signal"`
	PersistentDisk    bool              `yaml:"persistent_disk"`
	EphemeralDisk     bool              `yaml:"ephemeral_disk"`
	AdditionalVolumes []BPMVolume       `yaml:"additional_volumes"`
	Capabilities      []string          `yaml:"capabilities"`
	Limits            struct {
		Memory    string `yaml:"memory"`
		OpenFiles uint64 `yaml:"open_files"`
		Processes int64  `yaml:"processes"`
	} `yaml:"limits"`
	Hooks struct {
		PreStart string `yaml:"pre_start"`
	} `yaml:"hooks"`
	Unsafe struct {
		Privileged          bool        `yaml:"privileged"`
		UnrestrictedVolumes []BPMVolume `yaml:"unrestricted_volumes"`
	} `yaml:"unsafe"`
}

// BPMVolume is a directory bpm mounts into a process's container.
type BPMVolume struct {
	Path            string `yaml:"path"`
	Writable        bool   `yaml:"writable"`
	AllowExecutions bool   `yaml:"allow_executions"`
	MountOnly       bool   `yaml:"mount_only"`
	Shared          bool   `yaml:"shared"`
}

// LoadBPM reads a rendered bpm.yml. Unlike bpm, it refuses unknown keys: bpm ignores them, so
// a misspelt key is a setting that silently never applies.
func LoadBPM(path string) (BPMConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return BPMConfig{}, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c BPMConfig
	if err := dec.Decode(&c); err != nil {
		return BPMConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Validate applies bpm's own checks to the config of job, for a BOSH root (/var/vcap, or a
// sandbox): every process has a name and an executable, and additional volumes are canonical
// paths inside the root's data/ or store/ (what every bpm version accepts; newer ones also take
// sys/run/) that are not the job's own default volumes.
func (c BPMConfig) Validate(root, job string) error {
	if len(c.Processes) == 0 {
		return errors.New("bpm config has no process")
	}
	defaults := []string{filepath.Join(root, "data", job), filepath.Join(root, "store", job)}
	var errs []error
	for _, p := range c.Processes {
		if p.Name == "" || p.Executable == "" {
			errs = append(errs, fmt.Errorf("process %q: bpm needs a name and an executable", p.Name))
		}
		switch p.ShutdownSignal {
		case "", "TERM", "INT":
		default:
			errs = append(errs, fmt.Errorf("process %s: shutdown_signal %q is not TERM or INT", p.Name, p.ShutdownSignal))
		}
		for _, v := range p.AdditionalVolumes {
			switch {
			case filepath.Clean(v.Path) != v.Path:
				errs = append(errs, fmt.Errorf("process %s: volume path %s is not canonical", p.Name, v.Path))
			case !within(v.Path, filepath.Join(root, "data")) && !within(v.Path, filepath.Join(root, "store")):
				errs = append(errs, fmt.Errorf("process %s: volume %s is outside %s/data and %s/store", p.Name, v.Path, root, root))
			}
			for _, d := range defaults {
				if v.Path == d {
					errs = append(errs, fmt.Errorf("process %s: volume %s is one of the job's default volumes", p.Name, v.Path))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// within tells whether path lies strictly inside dir.
func within(path, dir string) bool {
	return strings.HasPrefix(path, dir+"/") && len(path) > len(dir)+1
}

// Sandbox is a BOSH VM's directory tree (/var/vcap) in a directory of this machine: jobs/,
// packages/, store/, data/, and sys/ as a link to data/sys as on a stemcell. Rendered jobs run in
// it as bpm would run them, without bpm's namespaces and mounts.
type Sandbox struct {
	Root string
}

// NewSandbox creates the tree under root.
func NewSandbox(root string) (Sandbox, error) {
	for _, dir := range []string{"jobs", "packages", "store", "data/sys/run", "data/sys/log"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			return Sandbox{}, err
		}
	}
	if err := os.Symlink("data/sys", filepath.Join(root, "sys")); err != nil && !errors.Is(err, os.ErrExist) {
		return Sandbox{}, err
	}
	return Sandbox{Root: root}, nil
}

// Path joins a path inside the sandbox.
func (s Sandbox) Path(elem ...string) string {
	return filepath.Join(append([]string{s.Root}, elem...)...)
}

// basePath is the PATH processes and scripts start with, as on a stemcell.
const basePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// bpmStopTimeout is how long bpm waits after the shutdown signal before it kills a process.
const bpmStopTimeout = 20 * time.Second

// Process is a bpm process running in a sandbox.
type Process struct {
	Job, Name string
	cmd       *exec.Cmd
	signal    syscall.Signal
	done      chan struct{}
	err       error
}

// Start validates the rendered bpm config of job and starts its processes as bpm would: their
// executable, arguments and environment (with TMPDIR), working directory, directories created
// (the job's data, log and, with persistent_disk, store directories, and additional volumes),
// stdout and stderr appended to sys/log/<job>/<process>.std{out,err}.log.
func (s Sandbox) Start(job string) ([]*Process, error) {
	// A job whose monit file names no process (an errand co-located with the instance's jobs)
	// has nothing to start: the agent runs its bin/run only on `bosh run-errand`.
	if monit, err := os.ReadFile(s.Path("jobs", job, "monit")); err == nil && strings.TrimSpace(string(monit)) == "" {
		return nil, nil
	}
	cfg, err := LoadBPM(s.Path("jobs", job, "config", "bpm.yml"))
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(s.Root, job); err != nil {
		return nil, fmt.Errorf("job %s: %w", job, err)
	}
	var started []*Process
	for _, p := range cfg.Processes {
		proc, err := s.start(job, p)
		if err != nil {
			for _, q := range started {
				_ = q.Stop()
			}
			return nil, fmt.Errorf("job %s, process %s: %w", job, p.Name, err)
		}
		started = append(started, proc)
	}
	return started, nil
}

func (s Sandbox) start(job string, p BPMProcess) (*Process, error) {
	tmp := s.Path("data", job, "tmp")
	logDir := s.Path("sys", "log", job)
	dirs := []string{tmp, logDir}
	if p.PersistentDisk {
		dirs = append(dirs, s.Path("store", job))
	}
	for _, v := range p.AdditionalVolumes {
		dirs = append(dirs, v.Path)
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	stdout, err := os.OpenFile(filepath.Join(logDir, p.Name+".stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(logDir, p.Name+".stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(p.Executable, p.Args...)
	cmd.Env = []string{"PATH=" + basePath, "TMPDIR=" + tmp, "LANG=en_US.UTF-8"}
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = p.WorkDir
	if cmd.Dir == "" {
		cmd.Dir = s.Path("jobs", job)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Pdeathsig: should the caller die, the process does not outlive it (bpm's container would
	// not either).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	proc := &Process{Job: job, Name: p.Name, cmd: cmd, signal: syscall.SIGTERM, done: make(chan struct{})}
	if p.ShutdownSignal == "INT" {
		proc.signal = syscall.SIGINT
	}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	return proc, nil
}

// Exited is closed when the process has exited; Err then tells how.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Err is the process's exit status, valid once Exited is closed.
func (p *Process) Err() error { return p.err }

// Stop stops the process as `bpm stop` does: the shutdown signal, then, after 20 seconds,
// SIGQUIT and SIGKILL. It returns the exit error unless the signal ended the process.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(p.signal)
	select {
	case <-p.done:
		return p.exitError()
	case <-time.After(bpmStopTimeout):
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(time.Second)
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s/%s did not stop within %s of its shutdown signal and was killed", p.Job, p.Name, bpmStopTimeout)
}

func (p *Process) exitError() error {
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() && status.Signal() == p.signal {
			return nil
		}
	}
	return p.err
}

// RunScript runs a rendered job script (bin/post-start, bin/drain, ...) as the BOSH agent does,
// with args and extra environment, and returns its stdout. A failure carries its stderr.
func (s Sandbox) RunScript(job, script string, args []string, env ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(s.Path("jobs", job, script), args...)
	cmd.Env = append([]string{"PATH=" + basePath}, env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s/%s: %w\n%s", job, script, err, stderr.String())
	}
	return stdout.String(), nil
}

// StartJobs starts rendered jobs in order as the BOSH agent starts an instance's jobs: each
// job's bpm processes, then its bin/post-start if it has one, whose success the next job waits
// for. The post-start scripts' output goes to out. It returns every process started, in order;
// should a job fail to start, it stops those again and returns the failure with the job's logs.
func (s Sandbox) StartJobs(jobs []string, out io.Writer) ([]*Process, error) {
	var started []*Process
	for _, job := range jobs {
		procs, err := s.Start(job)
		if err == nil {
			started = append(started, procs...)
			if _, statErr := os.Stat(s.Path("jobs", job, "bin", "post-start")); statErr == nil {
				var stdout string
				stdout, err = s.RunScript(job, "bin/post-start", nil)
				fmt.Fprint(out, stdout)
			}
		}
		if err != nil {
			_ = StopProcesses(started)
			return nil, fmt.Errorf("%w\n%s", err, s.JobLogs(job))
		}
	}
	return started, nil
}

// StopProcesses stops processes in the reverse of their order, as monit stops an instance's
// jobs, and returns every failure.
func StopProcesses(procs []*Process) error {
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s/%s: %w", procs[i].Job, procs[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

// JobLogs is the end of each log file of a job, for error messages.
func (s Sandbox) JobLogs(job string) string {
	const lines = 20
	files, _ := filepath.Glob(s.Path("sys", "log", job, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", f, lines, strings.Join(all[max(0, len(all)-lines):], "\n"))
	}
	return b.String()
}
