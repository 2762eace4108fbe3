// Package terraform drives the terraform (or tofu) binary for one environment through
// terraform-exec: a workspace per environment, a backend chosen by configuration,
// saved plans with a summary, a guard against destroying stateful resources, drift
// checks and outputs.
//
// Building what a command needs (backend files, var files, options, paths) is kept
// in small pure functions; Runner methods only execute.
package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Redactor hides secret values in text and in streamed output (config.Redactor
// satisfies it).
type Redactor interface {
	String(string) string
	Writer(io.Writer) io.WriteCloser
	// Add hides more values from now on: the runner adds the old values of secret
	// variables that the state still holds.
	Add(values ...string)
	// Error wraps err so its message is redacted and errors.Is/As still see it.
	Error(err error) error
}

// Options configure a Runner.
type Options struct {
	// Binary is the terraform/tofu executable (name or path); empty finds terraform,
	// then tofu, on PATH.
	Binary string
	// Dir is the Terraform configuration directory.
	Dir string
	// Workspace is the environment's workspace (KM_ENV).
	Workspace string
	Backend   Backend
	// Env is the complete environment of the terraform process (AWS credentials and
	// endpoints, HOME, TF_PLUGIN_CACHE_DIR, ...). TF_VAR_* entries are moved into
	// Vars; variables terraform-exec manages itself are dropped.
	Env map[string]string
	// Vars are Terraform input variables. They reach Terraform through a private
	// var file that exists only while a command runs, never through argv.
	Vars map[string]string
	// Redact hides secret values in Terraform's streamed output and errors.
	Redact Redactor
	// AWSEndpoint is AWS_ENDPOINT_URL when set: the AWS providers are then configured
	// for an endpoint other than AWS's (EndpointOverrideFileName).
	AWSEndpoint string
	// IsSecretVar says which input variables hold secrets; Terraform is told to treat
	// them as sensitive (SensitiveOverrideFileName), so it hides their old values too.
	IsSecretVar func(name string) bool
	// LockTimeout is how long to wait for a state lock held by someone else.
	LockTimeout time.Duration
	// Progress receives Terraform's own output and kmdeploy's progress lines;
	// nil discards them.
	Progress io.Writer
	// Verbose also shows `terraform version`, init and workspace selection, which are
	// otherwise shown only when they fail.
	Verbose bool
}

// Runner runs Terraform for one workspace.
type Runner struct {
	opts     Options
	tf       *tfexec.Terraform
	stateDir string
	progress io.WriteCloser
	prepared bool
}

// StateDirName is where, inside the configuration directory, kmdeploy keeps its
// per-workspace files (data dir, backend settings, saved plans).
const StateDirName = ".terraform/kmdeploy"

// WorkspaceDir returns kmdeploy's directory for a workspace inside a configuration
// directory.
func WorkspaceDir(dir, workspace string) string {
	return filepath.Join(dir, StateDirName, workspace)
}

// New checks the options, finds the binary and prepares (without running anything)
// the terraform-exec handle.
func New(opts Options) (*Runner, error) {
	if opts.Workspace == "" {
		return nil, errors.New("terraform: no workspace (KM_ENV) given")
	}
	if err := opts.Backend.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("terraform configuration directory %s not found: set KM_TF_DIR to the directory holding the .tf files", opts.Dir)
	}
	opts.Dir = abs
	bin, err := FindBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	tf, err := tfexec.NewTerraform(abs, bin)
	if err != nil {
		return nil, err
	}
	r := &Runner{opts: opts, tf: tf, stateDir: WorkspaceDir(abs, opts.Workspace)}
	env, vars := processEnv(opts.Env, r.dataDir())
	r.opts.Vars = mergeVars(vars, opts.Vars)
	if err := tf.SetEnv(env); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	r.progress = nopCloser{progress}
	if opts.Redact != nil {
		r.progress = opts.Redact.Writer(progress)
	}
	// Stdout is attached only around human-readable commands (init, plan, apply):
	// `show -json` and `output -json` print variable and sensitive values.
	tf.SetStderr(r.progress)
	return r, nil
}

// Close flushes progress output.
func (r *Runner) Close() error { return r.progress.Close() }

func (r *Runner) dataDir() string     { return filepath.Join(r.stateDir, "data") }
func (r *Runner) backendFile() string { return filepath.Join(r.stateDir, "backend.tfbackend") }

// DefaultPlanPath is where `plan` saves the workspace's plan by default.
func (r *Runner) DefaultPlanPath() string { return filepath.Join(r.stateDir, "plan.tfplan") }

// processEnv builds the terraform process environment: TF_VAR_* are split off (they
// go into a var file), variables terraform-exec sets itself are dropped, and
// TF_DATA_DIR is the workspace's own, so environments never share a selected
// workspace or an init.
func processEnv(in map[string]string, dataDir string) (env, vars map[string]string) {
	env = map[string]string{}
	vars = map[string]string{}
	for k, v := range in {
		if name, ok := strings.CutPrefix(k, "TF_VAR_"); ok {
			vars[name] = v
			continue
		}
		env[k] = v
	}
	env = tfexec.CleanEnv(env)
	env["TF_DATA_DIR"] = dataDir
	return env, vars
}

func mergeVars(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// varFileJSON renders input variables as a .tfvars.json document. Values are
// strings (as with TF_VAR_*, Terraform converts them to the declared primitive
// type); a value that is a JSON list or object is passed as such, for collection
// variables.
func varFileJSON(vars map[string]string) ([]byte, error) {
	doc := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v := vars[k]
		t := strings.TrimSpace(v)
		if (strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{")) && json.Valid([]byte(t)) {
			doc[k] = json.RawMessage(t)
			continue
		}
		doc[k] = v
	}
	return json.MarshalIndent(doc, "", "  ")
}

// withVarFile writes the variables to a private file for the duration of fn.
func (r *Runner) withVarFile(fn func(path string) error) error {
	if len(r.opts.Vars) == 0 {
		return fn("")
	}
	data, err := varFileJSON(r.opts.Vars)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.stateDir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(r.stateDir, "vars-*.tfvars.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fn(f.Name())
}

// Prepare writes the backend files, runs init, and selects the workspace, creating
// it when create is true. Other methods call it once as needed.
func (r *Runner) Prepare(ctx context.Context, create bool) error {
	if r.prepared {
		return nil
	}
	if err := os.MkdirAll(r.stateDir, 0o700); err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(r.opts.Dir, OverrideFileName), r.opts.Backend.overrideFile()); err != nil {
		return err
	}
	if err := writeIfChanged(r.backendFile(), r.opts.Backend.configFile()); err != nil {
		return err
	}
	mod, err := r.writeModuleOverrides()
	if err != nil {
		return err
	}
	// Select an existing workspace before init, which reads the selected workspace's
	// state: otherwise a fresh data directory (a new CI container) means the default
	// workspace, whose state the pipeline's role may not read.
	if !create {
		if err := os.MkdirAll(r.dataDir(), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r.dataDir(), "environment"), []byte(r.opts.Workspace), 0o600); err != nil {
			return err
		}
	}
	r.debugf("terraform init (workspace %s, backend %s)", r.opts.Workspace, r.opts.Backend.Identity())
	if err := r.quiet(func() error { return r.tf.Init(ctx, initOptions(r.backendFile())...) }); err != nil {
		if !create && strings.Contains(err.Error(), fmt.Sprintf("Currently selected workspace %q does not exist", r.opts.Workspace)) {
			return &NoWorkspaceError{Workspace: r.opts.Workspace}
		}
		return r.wrap("terraform init", err)
	}
	if err := r.selectWorkspace(ctx, create); err != nil {
		return err
	}
	if err := r.hidePriorSecrets(ctx, mod); err != nil {
		return err
	}
	r.prepared = true
	return nil
}

// initOptions: -reconfigure because the backend settings come from kmdeploy's
// configuration on every run (and CI starts from a clean data dir); never migrate
// state implicitly.
func initOptions(backendFile string) []tfexec.InitOption {
	return []tfexec.InitOption{
		tfexec.Reconfigure(true),
		tfexec.BackendConfig(backendFile),
		tfexec.Upgrade(false),
	}
}

func (r *Runner) selectWorkspace(ctx context.Context, create bool) error {
	list, current, err := r.tf.WorkspaceList(ctx)
	if err != nil {
		return r.wrap("terraform workspace list", err)
	}
	ws := r.opts.Workspace
	switch {
	case current == ws:
		return nil
	case slices.Contains(list, ws):
		r.debugf("terraform workspace select %s", ws)
		return r.wrap("terraform workspace select", r.tf.WorkspaceSelect(ctx, ws))
	case create:
		r.logf("terraform workspace new %s (first use of this environment)", ws)
		return r.wrap("terraform workspace new", r.tf.WorkspaceNew(ctx, ws))
	default:
		return &NoWorkspaceError{Workspace: ws}
	}
}

// quiet runs fn with Terraform's output held back: shown as progress with Verbose, or
// after the fact when fn fails. tfexec runs `terraform version` inside some commands
// and writes its JSON to the same output, so this keeps that back too.
func (r *Runner) quiet(fn func() error) error {
	if r.opts.Verbose {
		return r.streamed(fn)
	}
	var held bytes.Buffer
	r.tf.SetStdout(&held)
	r.tf.SetStderr(&held)
	defer func() {
		r.tf.SetStdout(nil)
		r.tf.SetStderr(r.progress)
	}()
	err := fn()
	if err != nil {
		_, _ = r.progress.Write(held.Bytes())
	}
	return err
}

// streamed runs fn with Terraform's stdout shown as progress.
func (r *Runner) streamed(fn func() error) error {
	r.tf.SetStdout(r.progress)
	defer r.tf.SetStdout(nil)
	return fn()
}

func (r *Runner) lockTimeout() string {
	return fmt.Sprintf("%ds", int(r.opts.LockTimeout/time.Second))
}

// debugf is logf with Verbose only.
func (r *Runner) debugf(format string, args ...any) {
	if r.opts.Verbose {
		r.logf(format, args...)
	}
}

func (r *Runner) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "kmdeploy: "+format+"\n", args...)
}

// wrap names the failed step and redacts secrets from Terraform's message.
func (r *Runner) wrap(step string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("%s: %w", step, err)
	if strings.Contains(err.Error(), "Error acquiring the state lock") {
		err = &LockedError{Err: err}
	}
	if r.opts.Redact == nil {
		return err
	}
	return r.opts.Redact.Error(err)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
