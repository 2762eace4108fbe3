package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// kmdeploy runs the built deploy tool as a user would, with the environment's
// variables; its output is shown indented and returned.
type kmdeploy struct {
	bin string
	env []string
	out io.Writer
}

// result is one kmdeploy run.
type result struct {
	Output   string
	ExitCode int
}

func (k *kmdeploy) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = k.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// The first Ctrl-C lets kmdeploy stop waiting cleanly, as it does for users.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	// A kmdeploy that does not stop after that is killed, so a step's timeout ends it.
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// run executes kmdeploy args; a non-zero exit is a result, not an error.
func (k *kmdeploy) run(ctx context.Context, args ...string) (result, error) {
	fmt.Fprintf(k.out, "  $ kmdeploy %s\n", strings.Join(args, " "))
	var buf bytes.Buffer
	iw := &indentWriter{w: k.out, indent: "    "}
	cmd := k.command(ctx, args...)
	cmd.Stdout = io.MultiWriter(&buf, iw)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	iw.flush()
	res := result{Output: buf.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		return res, fmt.Errorf("run kmdeploy %s: %w", args[0], err)
	}
	fmt.Fprintf(k.out, "  (exit code %d)\n", res.ExitCode)
	return res, nil
}

// registryAuth logs in to the environment's registry as the pipeline does, with the
// password `kmdeploy ecr-login` prints; the password is never echoed.
func (k *kmdeploy) registryAuth(ctx context.Context) (authn.Authenticator, error) {
	fmt.Fprintln(k.out, "  $ kmdeploy ecr-login (password not shown)")
	var stderr bytes.Buffer
	cmd := k.command(ctx, "ecr-login")
	cmd.Stderr = &stderr
	password, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kmdeploy ecr-login: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return &authn.Basic{Username: "AWS", Password: string(password)}, nil
}

// must runs kmdeploy args and turns a non-zero exit into an error.
func (k *kmdeploy) must(ctx context.Context, args ...string) error {
	res, err := k.run(ctx, args...)
	if err == nil && res.ExitCode != 0 {
		err = fmt.Errorf("kmdeploy %s exited %d", strings.Join(args, " "), res.ExitCode)
	}
	return err
}

// indentWriter indents every line.
type indentWriter struct {
	w       io.Writer
	indent  string
	partial []byte
}

func (i *indentWriter) Write(b []byte) (int, error) {
	i.partial = append(i.partial, b...)
	for {
		n := bytes.IndexByte(i.partial, '\n')
		if n < 0 {
			break
		}
		fmt.Fprintf(i.w, "%s%s\n", i.indent, i.partial[:n])
		i.partial = i.partial[n+1:]
	}
	return len(b), nil
}

func (i *indentWriter) flush() {
	if len(i.partial) > 0 {
		fmt.Fprintf(i.w, "%s%s\n", i.indent, i.partial)
		i.partial = nil
	}
}
