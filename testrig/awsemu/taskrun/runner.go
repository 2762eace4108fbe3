// Package taskrun makes the emulation's ECS tasks real: a Runner (an awsemu.TaskRunner)
// pulls a task's image from the emulation's registry, unpacks its filesystem and runs
// the container's entrypoint and command as a local process with the task's environment
// (secrets already resolved by the emulation), its output going to CloudWatch Logs; and
// Services (the CodeDeploy emulation's Install step) runs a deployment's replacement
// tasks as servers on free loopback ports, registers them in the replacement target
// group and lets the deployment go on only once GET /status/ answers 200, like an ALB
// health check.
//
// Processes are not isolated: they run from the unpacked directory as the current user,
// which works for the static executables of the project's images.
package taskrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/knowmetools/km-release/testrig/awsemu"
)

// Options configure a Runner. The zero value is ready to use.
type Options struct {
	// WorkDir holds unpacked images; default a new temporary directory, removed by Close.
	WorkDir string
	// StopTimeout is how long a stopped task's processes get between SIGTERM and
	// SIGKILL, like ECS's stopTimeout; default 5s.
	StopTimeout time.Duration
	// Output, when set, receives a copy of every container line prefixed with the task
	// family, container and short task ID (the rehearsal shows them live).
	Output io.Writer
}

// Runner runs ECS tasks as local processes. Safe for concurrent use.
type Runner struct {
	opts    Options
	ownsDir bool
	images  *imageCache
	outMu   sync.Mutex
}

// New prepares a Runner; Close removes what it unpacked.
func New(opts Options) (*Runner, error) {
	r := &Runner{opts: opts}
	if r.opts.StopTimeout <= 0 {
		r.opts.StopTimeout = 5 * time.Second
	}
	if r.opts.WorkDir == "" {
		dir, err := os.MkdirTemp("", "taskrun-")
		if err != nil {
			return nil, fmt.Errorf("taskrun: %w", err)
		}
		r.opts.WorkDir, r.ownsDir = dir, true
	} else if err := os.MkdirAll(r.opts.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("taskrun: %w", err)
	}
	r.images = newImageCache(r.opts.WorkDir)
	return r, nil
}

// Close removes the unpacked images if the Runner created their directory. Call it
// after the emulator is closed (its tasks are gone then).
func (r *Runner) Close() error {
	if r.ownsDir {
		return os.RemoveAll(r.opts.WorkDir)
	}
	return nil
}

// Run implements awsemu.TaskRunner: pull and unpack every container's image, start the
// containers, mark the task RUNNING, and wait until an essential container exits (the
// others are then stopped, as ECS does) or ctx ends (StopTask, emulator Close).
func (r *Runner) Run(ctx context.Context, task *awsemu.TaskRun) awsemu.TaskOutcome {
	type prepared struct {
		c    *awsemu.ContainerRun
		cmd  *exec.Cmd
		done chan struct{} // closed once the process was waited for
	}
	var ps []prepared
	for _, c := range task.Containers {
		img, err := r.images.get(ctx, c.Image)
		if err != nil {
			return awsemu.TaskOutcome{FailedToStart: fmt.Sprintf("CannotPullContainerError: pull image %s for container %s: %v", c.Image, c.Name, err)}
		}
		cmd, err := r.command(task, c, img)
		if err != nil {
			return awsemu.TaskOutcome{FailedToStart: fmt.Sprintf("CannotStartContainerError: container %s: %v", c.Name, err)}
		}
		ps = append(ps, prepared{c: c, cmd: cmd, done: make(chan struct{})})
	}

	type exit struct {
		name string
		ex   awsemu.ContainerExit
	}
	exits := make(chan exit, len(ps))
	var started []prepared
	stopAll := func() {
		var wg sync.WaitGroup
		for _, p := range started {
			wg.Go(func() { terminate(p.cmd, p.done, r.opts.StopTimeout) })
		}
		wg.Wait()
	}
	for _, p := range ps {
		if err := p.cmd.Start(); err != nil {
			stopAll()
			for range started {
				<-exits
			}
			return awsemu.TaskOutcome{FailedToStart: fmt.Sprintf("CannotStartContainerError: container %s: %v", p.c.Name, err)}
		}
		started = append(started, p)
		go func(p prepared) {
			err := p.cmd.Wait()
			close(p.done)
			exits <- exit{name: p.c.Name, ex: containerExit(p.cmd, err)}
		}(p)
	}
	task.Running()

	essential := map[string]bool{}
	for _, p := range ps {
		essential[p.c.Name] = p.c.Essential
	}
	out := awsemu.TaskOutcome{Exits: map[string]awsemu.ContainerExit{}}
	stopping := false
	for len(out.Exits) < len(ps) {
		select {
		case e := <-exits:
			out.Exits[e.name] = e.ex
			if essential[e.name] && !stopping {
				stopping = true
				go stopAll()
			}
		case <-ctx.Done():
			if !stopping {
				stopping = true
				go stopAll()
			}
			ctx = context.Background() // keep collecting exits
		}
	}
	return out
}

// command builds a container's process: argv[0] from the unpacked image, the image's
// environment overlaid with the task's, the image's working directory.
func (r *Runner) command(task *awsemu.TaskRun, c *awsemu.ContainerRun, img *unpacked) (*exec.Cmd, error) {
	entry, cmdArgs := c.EntryPoint, c.Command
	if entry == nil {
		entry = img.config.Entrypoint
	}
	if cmdArgs == nil {
		cmdArgs = img.config.Cmd
	}
	argv := append(append([]string{}, entry...), cmdArgs...)
	if len(argv) == 0 {
		return nil, errors.New("the image has no entrypoint or command and the container definition sets none")
	}
	env := map[string]string{}
	for _, kv := range img.config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range c.Environment {
		env[k] = v
	}
	exe, err := img.resolve(argv[0], env["PATH"])
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = img.root
	if wd := img.config.WorkingDir; wd != "" {
		cmd.Dir = filepath.Join(img.root, filepath.FromSlash(wd))
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Own process group, so a stop reaches every process of the container; killed with
	// the emulation's process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	w := c.Log
	if r.opts.Output != nil {
		prefix := fmt.Sprintf("[%s/%s %s] ", deref(task.TaskDefinition.Family), c.Name, shortID(task.TaskARN))
		w = io.MultiWriter(c.Log, &prefixWriter{mu: &r.outMu, w: r.opts.Output, prefix: prefix})
	}
	cmd.Stdout, cmd.Stderr = w, w
	return cmd, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func shortID(arn string) string {
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}

// terminate sends SIGTERM to the process group and SIGKILL after grace unless the
// process ended (done closed).
func terminate(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
}

// containerExit is the exit code ECS would report: the process's, or 128+signal.
func containerExit(cmd *exec.Cmd, err error) awsemu.ContainerExit {
	ps := cmd.ProcessState
	if ps == nil {
		return awsemu.ContainerExit{ExitCode: 1, Reason: fmt.Sprintf("CannotInspectContainerError: %v", err)}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return awsemu.ContainerExit{ExitCode: 128 + int(ws.Signal())}
	}
	return awsemu.ContainerExit{ExitCode: ps.ExitCode()}
}

// prefixWriter copies complete lines to w with a prefix.
type prefixWriter struct {
	mu      *sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	consumed := 0
	for {
		i := bytes.IndexByte(p.partial[consumed:], '\n')
		if i < 0 {
			break
		}
		line := p.partial[consumed : consumed+i]
		p.mu.Lock()
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
		p.mu.Unlock()
		consumed += i + 1
	}
	p.partial = append(p.partial[:0], p.partial[consumed:]...)
	return len(b), nil
}
