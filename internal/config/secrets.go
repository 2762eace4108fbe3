package config

import (
	"bytes"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Redacted replaces a secret value wherever kmdeploy prints something.
const Redacted = "(redacted)"

// secretWords mark a Terraform variable as secret by name, so the common case needs
// no KM_SECRET_TF_VARS entry.
var secretWords = []string{"password", "passwd", "secret", "token", "key", "credential", "private"}

// IsSecretVarName reports whether a Terraform variable name (without TF_VAR_) looks
// like it holds a secret.
func IsSecretVarName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// awsSecretVars are never printed even though they are not kmdeploy configuration.
var awsSecretVars = []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// TFVars returns the Terraform input variables set as TF_VAR_<name>, keyed by name.
func (c *Config) TFVars() map[string]string {
	vars := map[string]string{}
	for _, k := range c.env.Keys() {
		if name, ok := strings.CutPrefix(k, "TF_VAR_"); ok && name != "" {
			vars[name], _ = c.env.Lookup(k)
		}
	}
	return vars
}

// IsSecretTFVar reports whether the Terraform variable name holds a secret.
func (c *Config) IsSecretTFVar(name string) bool {
	return IsSecretVarName(name) || slices.Contains(c.SecretTFVars, name)
}

// SecretValues returns every secret value in the environment (secret TF_VAR_*,
// AWS secret keys), longest first, for redaction.
func (c *Config) SecretValues() []string {
	var vals []string
	for name, v := range c.TFVars() {
		if c.IsSecretTFVar(name) && v != "" {
			vals = append(vals, v)
		}
	}
	for _, k := range awsSecretVars {
		if v, ok := c.env.Lookup(k); ok && v != "" {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	return vals
}

// Redactor returns the configuration's redactor: the environment's secret values, and
// whatever is added to it later (old values Terraform still holds). It is the same
// one for every caller, so a value added once is hidden everywhere after.
func (c *Config) Redactor() *Redactor {
	c.redactOnce.Do(func() { c.redactor = NewRedactor(c.SecretValues()...) })
	return c.redactor
}

// Redactor hides secret values in text that kmdeploy prints (Terraform output,
// errors). Values shorter than MinSecretLen are not searched for, since they would
// mangle ordinary text; they are still never printed by kmdeploy itself. It is safe
// for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
	r       *strings.Replacer
}

// MinSecretLen is the shortest value Redactor searches for in text.
const MinSecretLen = 4

// NewRedactor builds a Redactor for the given secret values.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add hides more values from now on.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, Redacted)
	}
	r.r = strings.NewReplacer(pairs...)
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.r.Replace(s)
}

// Error wraps err so its message is redacted; errors.Is/As still see the original.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Writer returns a writer that redacts line by line before writing to w; Close
// flushes a final unterminated line.
func (r *Redactor) Writer(w io.Writer) io.WriteCloser { return &redactWriter{r: r, w: w} }

type redactWriter struct {
	mu  sync.Mutex
	r   *Redactor
	w   io.Writer
	buf []byte
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.buf = append(rw.buf, p...)
	// Whole lines only, so a secret split across two writes is still found.
	if i := bytes.LastIndexByte(rw.buf, '\n'); i >= 0 {
		line := rw.buf[:i+1]
		if _, err := io.WriteString(rw.w, rw.r.String(string(line))); err != nil {
			return 0, err
		}
		rw.buf = append(rw.buf[:0], rw.buf[i+1:]...)
	}
	return len(p), nil
}

func (rw *redactWriter) Close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(rw.w, rw.r.String(string(rw.buf)))
	rw.buf = nil
	return err
}
