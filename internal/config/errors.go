package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one environment variable or command-line flag.
type FieldError struct {
	Var     string // the environment variable (KM_ENV) or flag (--image)
	Problem string // what is wrong and what is expected
}

func (f FieldError) String() string { return f.Var + ": " + f.Problem }

// Error lists every configuration problem found at once, so a user fixes them all in
// one round instead of one per run.
type Error struct {
	Problems []FieldError
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("); nothing was changed. Fix these environment variables and flags:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	b.WriteString("\n(see docs/configuration.md)")
	return b.String()
}

// Vars returns the variable names with problems, in order.
func (e *Error) Vars() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Var
	}
	return out
}

// problems collects FieldErrors; err returns nil when there are none so callers can
// `return p.err()`.
type problems []FieldError

// Problemf is one problem, for callers that check their own input (flags).
func Problemf(v, format string, args ...any) FieldError {
	return FieldError{Var: v, Problem: fmt.Sprintf(format, args...)}
}

func (p *problems) add(v, format string, args ...any) {
	*p = append(*p, FieldError{Var: v, Problem: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Problems: p}
}
