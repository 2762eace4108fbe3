package dbbackup

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Tools names the client binaries; empty fields mean the ones on PATH.
type Tools struct {
	PgDump    string
	PgRestore string
}

func (t Tools) pgDump() string    { return orDefault(t.PgDump, "pg_dump") }
func (t Tools) pgRestore() string { return orDefault(t.PgRestore, "pg_restore") }

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// ToolError is a failed pg_dump or pg_restore run, with the end of its output.
type ToolError struct {
	Tool   string
	Err    error
	Stderr string
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("%s failed: %v: %s", e.Tool, e.Err, e.Stderr)
}
func (e *ToolError) Unwrap() error { return e.Err }

// command builds a client invocation; running it is separate so tests can check argv.
func command(ctx context.Context, bin string, conn Conn, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), conn.env()...)
	return cmd
}

func run(cmd *exec.Cmd, secret string) ([]byte, error) {
	if _, err := exec.LookPath(cmd.Path); err != nil && !strings.Contains(cmd.Path, "/") {
		return nil, fmt.Errorf("%s not found on PATH: install the PostgreSQL client (Debian: apt-get install postgresql-client)", cmd.Path)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := lastLines(stderr.String(), 6)
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
		return nil, &ToolError{Tool: cmd.Args[0], Err: err, Stderr: msg}
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
