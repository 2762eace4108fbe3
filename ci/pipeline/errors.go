package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"dagger.io/dagger"
)

// ConfigError lists every problem with the arguments at once, so a user fixes them in one go.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "invalid pipeline arguments:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// StepError says which step failed and shows the end of the failing command's output.
type StepError struct {
	Step     string
	Cmd      []string
	ExitCode int
	Output   string // the last lines of stderr and stdout
	Err      error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed", e.Step)
	if len(e.Cmd) > 0 {
		fmt.Fprintf(&b, ": %s exited with code %d", shellJoin(e.Cmd), e.ExitCode)
		// 128+n is how a shell reports death by signal n: 137 is the OOM killer's SIGKILL.
		if e.ExitCode > 128 && e.ExitCode < 160 {
			fmt.Fprintf(&b, " (%s)", syscall.Signal(e.ExitCode-128))
		}
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Output != "" {
		b.WriteString("\n" + e.Output)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// outputLines is how much of a failed command's output a StepError keeps.
const outputLines = 40

// stepError wraps err for step, keeping the failing command and its output when the engine
// reports an exec failure.
func stepError(step string, err error) error {
	if err == nil {
		return nil
	}
	var execErr *dagger.ExecError
	if errors.As(err, &execErr) {
		return &StepError{
			Step:     step,
			Cmd:      execErr.Cmd,
			ExitCode: execErr.ExitCode,
			Output:   joinOutput(execErr.Stderr, execErr.Stdout, outputLines),
			Err:      err,
		}
	}
	return &StepError{Step: step, Err: err}
}

// joinOutput keeps the last n lines of stderr, then of stdout, labelled.
func joinOutput(stderr, stdout string, n int) string {
	var parts []string
	if s := lastLines(stderr, n); s != "" {
		parts = append(parts, "stderr:\n"+s)
	}
	if s := lastLines(stdout, n); s != "" {
		parts = append(parts, "stdout:\n"+s)
	}
	return strings.Join(parts, "\n")
}

// shellJoin renders argv as a shell would take it back, so a failing `sh -c '...'` reads as
// one command.
func shellJoin(argv []string) string {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,@+%") == "" {
			quoted[i] = a
		} else {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

// lastLines returns the last n non-trailing lines of s.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
