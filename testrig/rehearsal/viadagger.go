package rehearsal

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
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/realinfra"
	"github.com/knowmetools/km-release/testrig/tfmirror"
)

// DaggerOptions configure RunDagger.
type DaggerOptions struct {
	// Options: ModuleDir, Out, Verbose; StepTimeout (default 40m: one `dagger call`)
	// and Timeout (default 90m). Then and Keep are not used.
	Options
	// ListenHost is where the emulation listens: an address the engine's containers
	// reach (the toolbox calls the emulated AWS, the engine pushes to its registry).
	ListenHost string
	// RegistryPort is the emulated registry's port, fixed so that the engine can be
	// configured beforehand to use plain http there; 0 picks a free one.
	RegistryPort int
	// Dagger is the dagger CLI; default "dagger" from PATH.
	Dagger string
}

// The environments of the run through Dagger: the module's own defaults.
const (
	daggerStaging    = "staging"
	daggerProduction = "production"
	daggerPrefix     = "km" // infra/'s default name_prefix
)

// daggerRun is one run of the whole release through the Dagger module.
type daggerRun struct {
	*run
	opts       DaggerOptions
	commit     string
	mirror     string
	failingAPI string // a copy of the sample API whose image ships a failing migration
	source     string // a copy of the repository with the rehearsal's plain Terraform variables
	image      string // what staging runs after the release, pinned
}

// RunDagger runs the release through the Dagger module against the emulation, with
// the `dagger` CLI as a user would: `release` to staging, `promote` to production,
// then a release whose migration fails. After each it checks the outcomes the
// rehearsal checks (what the load balancer serves, migrations before traffic, the web
// bundle, the rollback). It needs a Dagger engine whose containers reach ListenHost
// and treat the registry there as plain http.
func RunDagger(ctx context.Context, opts DaggerOptions) (*Timeline, error) {
	if err := opts.setDefaults(40*time.Minute, 90*time.Minute); err != nil {
		return nil, err
	}
	if opts.Dagger == "" {
		opts.Dagger = "dagger"
	}
	if _, err := exec.LookPath(opts.Dagger); err != nil {
		return nil, fmt.Errorf("%w: the dagger CLI (v0.21.8) is not on PATH, and a Dagger engine is needed (docs/pipeline.md, \"make rehearse-dagger\")", ErrCannotStart)
	}
	mirror := tfmirror.Find()
	if mirror == "" {
		return nil, fmt.Errorf("%w: no Terraform provider mirror found: set %s to a filesystem mirror holding hashicorp/aws", ErrCannotStart, tfmirror.EnvVar)
	}
	r := newRun(ctx, opts.Options)
	r.listenHost, r.registryPort = opts.ListenHost, opts.RegistryPort
	d := &daggerRun{run: r, opts: opts, mirror: mirror}
	return r.tl, r.perform(ctx, d.steps)
}

func (d *daggerRun) steps(ctx context.Context) error {
	return d.runSteps(ctx, []namedStep{
		{"start the AWS emulation", d.start},
		{"prepare (Lambda handlers, a failing API, infra/ to read outputs)", d.prepare},
		{"dagger call release (staging)", d.release},
		{"dagger call promote (production)", d.promote},
		{"dagger call release with a failing migration", d.failingRelease},
	})
}

func lambdaName(env, function string) string {
	return daggerPrefix + "-" + env + "-" + function
}

// prepare registers the product's Lambda handlers under the names Terraform will give
// the functions, creates the account's GitHub OIDC provider, copies infra/ (to read
// outputs), and writes the failing API and the source with the plain variables.
func (d *daggerRun) prepare(ctx context.Context) (string, error) {
	d.commit = "rehearsal"
	if out, err := exec.CommandContext(ctx, "git", "-C", d.opts.ModuleDir, "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		d.commit = strings.TrimSpace(string(out))
	}
	infra, err := realinfra.CopyConfig(d.opts.ModuleDir, d.workDir)
	if err != nil {
		return "", err
	}
	d.kd = &kmdeploy{out: d.opts.Out}
	d.kd.env = d.kmdeployEnv(infra)
	for _, env := range []string{daggerStaging, daggerProduction} {
		d.wireLambdaNames(lambdaName(env, "migrate"), lambdaName(env, "jobs"))
	}
	// Once per account (docs/infra.md): both environments then find it.
	if _, err := iam.NewFromConfig(d.emu.AWSConfig()).CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
		Url: aws.String("https://token.actions.githubusercontent.com"), ClientIDList: []string{"sts.amazonaws.com"},
		ThumbprintList: []string{"6938fd4d98bab03faadb97b34396831e3780aea1"},
	}); err != nil {
		return "", fmt.Errorf("create the GitHub OIDC provider: %w", err)
	}
	if d.failingAPI, err = writeFailingAPI(ctx, d.opts.ModuleDir, filepath.Join(d.workDir, "failing-api")); err != nil {
		return "", err
	}
	d.source = filepath.Join(d.workDir, "source")
	if err := copySource(ctx, d.opts.ModuleDir, d.source); err != nil {
		return "", err
	}
	vars := fmt.Sprintf("# The rehearsal's account: its DNS zone (see docs/pipeline.md).\ndns_zone_name = %q\n", dnsZone)
	if err := os.WriteFile(filepath.Join(d.source, plainVarsFile), []byte(vars), 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("commit %s; provider mirror %s; Lambda handlers for %s and %s; GitHub OIDC provider; failing API in %s; source with %s",
		d.commit, d.mirror, daggerStaging, daggerProduction, d.failingAPI, plainVarsFile), nil
}

// plainVarsFile holds the Terraform variables that are not secret. They cannot be
// --tf-var secrets: the engine masks a secret's value in everything it prints and in
// what the pipeline reads back (outputs such as api_url, kmdeploy's JSON).
const plainVarsFile = "infra/rehearsal.auto.tfvars"

// copySource copies the repository's tracked files, as they are in the working tree,
// to dir.
func copySource(ctx context.Context, moduleDir, dir string) error {
	out, err := exec.CommandContext(ctx, "git", "-C", moduleDir, "ls-files", "-z", "--cached").Output()
	if err != nil {
		return fmt.Errorf("list the repository's files: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		from, to := filepath.Join(moduleDir, name), filepath.Join(dir, name)
		info, err := os.Stat(from)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, b, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// writeFailingAPI copies the repository (the sample API's tests use the test rig) and
// makes the sample API's image ship the rehearsal's failing migration beside the good
// ones. The file stays out of migrations/, whose files the sample's own tests apply.
func writeFailingAPI(ctx context.Context, moduleDir, dir string) (string, error) {
	if err := copySource(ctx, moduleDir, dir); err != nil {
		return "", err
	}
	app := filepath.Join(dir, "examples", "api")
	if err := os.MkdirAll(filepath.Join(app, "failing-migration"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(app, "failing-migration", failingMigration.Name), failingMigration.SQL, 0o644); err != nil {
		return "", err
	}
	dockerfile, err := os.OpenFile(filepath.Join(app, "Dockerfile"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintln(dockerfile, "\n# The rehearsal's failing release: a migration Postgres rejects.\nCOPY examples/api/failing-migration/ /app/migrations/")
	return dir, errors.Join(err, dockerfile.Close())
}

// daggerCall is one `dagger call`: what it printed (the function's result on stdout,
// progress and errors on stderr) and its exit code.
type daggerCall struct {
	Stdout, Stderr string
	ExitCode       int
}

// Error is the error `dagger call` ended with: stderr from its first line that starts
// with "Error:" (progress lines carry a prefix; the output the error quotes may hold
// more such lines).
func (c daggerCall) Error() string {
	i := strings.Index(c.Stderr, "\nError: ")
	if i < 0 {
		return lastLines(c.Stderr, 40)
	}
	return strings.TrimSpace(c.Stderr[i:])
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// dagger runs `dagger call` with the module options for env, extra module options,
// then the function and its arguments. Credentials are the emulation's administrator
// key (terraform apply creates roles and policies the CI role may not), passed as
// env:// secrets.
func (d *daggerRun) dagger(ctx context.Context, env string, extra []string, function ...string) (daggerCall, error) {
	vars := map[string]string{
		"AWS_ACCESS_KEY_ID":     awsemu.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": awsemu.SecretAccessKey,
	}
	if env == daggerProduction {
		// Promotion copies staging's image: the CI role may read staging's repository.
		vars["TF_VAR_promote_source_repository_arns"] = fmt.Sprintf(`["arn:aws:ecr:%s:%s:repository/%s-api"]`, awsemu.DefaultRegion, awsemu.AccountID, daggerPrefix+"-"+daggerStaging)
	}
	args := []string{"--progress=plain", "call", "--source", d.source,
		"--aws-endpoint-url", d.emu.Endpoint(), "--region", awsemu.DefaultRegion,
		"--state-bucket", stateBucket, "--tf-provider-mirror", d.mirror,
		"--aws-access-key-id", "env://AWS_ACCESS_KEY_ID", "--aws-secret-access-key", "env://AWS_SECRET_ACCESS_KEY"}
	cmdEnv := os.Environ()
	for k, v := range vars {
		cmdEnv = append(cmdEnv, k+"="+v)
		if strings.HasPrefix(k, "TF_VAR_") {
			args = append(args, "--tf-var", "env://"+k)
		}
	}
	args = append(append(args, extra...), function...)
	d.say("  $ dagger %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, d.opts.Dagger, args...)
	cmd.Dir = d.opts.ModuleDir
	cmd.Env = cmdEnv
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	// The pipeline's own progress lines ("<== apply staging ok in 2m14s") are shown.
	progress := &lineFilter{w: d.opts.Out, marker: "<== "}
	cmd.Stderr = io.MultiWriter(&stderr, d.detailWriter(), progress)
	start := time.Now()
	err := cmd.Run()
	res := daggerCall{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
		res.ExitCode = exit.ExitCode()
	default:
		return res, fmt.Errorf("run dagger %s: %w", function[0], err)
	}
	d.say("  (exit code %d after %s)", res.ExitCode, time.Since(start).Round(time.Second))
	return res, nil
}

// mustDagger is dagger for a call that must succeed; its result (the pipeline's
// timeline) is shown.
func (d *daggerRun) mustDagger(ctx context.Context, env string, function ...string) error {
	res, err := d.dagger(ctx, env, nil, function...)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("dagger call %s exited %d:\n%s", function[0], res.ExitCode, res.Error())
	}
	d.say("  the pipeline's timeline (dagger call %s):\n%s", function[0], indent(res.Stdout, "    "))
	return nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// environment reads workspace env's outputs and makes it the one the checks look at.
func (d *daggerRun) environment(ctx context.Context, env string) (*Environment, error) {
	e, err := d.readEnvironmentOf(ctx, env)
	if err != nil {
		return nil, err
	}
	if got, want := e.Resources.MigrateFunction, lambdaName(env, "migrate"); got != want {
		return nil, fmt.Errorf("Terraform named the migration function %s, the rehearsal wired %s", got, want)
	}
	d.env, d.check = e, newChecker(d.emu, e)
	return e, nil
}

func newChecker(emu *awsemu.Emulator, env *Environment) *checker {
	cfg := emu.AWSConfig()
	return &checker{env: env, ecs: ecs.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg)}
}

// shipped checks what a successful release or promotion left in the current
// environment: the commit serves production traffic, its migrations ran before the
// traffic moved, the web bundle is live with the environment's API URL. It returns the
// image the service runs.
func (d *daggerRun) shipped(ctx context.Context) (image, outcome string, err error) {
	serving, err := d.check.expectServing(ctx, d.commit)
	if err != nil {
		return "", "", err
	}
	applied, err := appliedMigrations(ctx, d.env.DBAdminURL)
	if err != nil {
		return "", "", err
	}
	if strings.Join(applied, ",") != "0001_initial,0002_profile_bio" {
		return "", "", fmt.Errorf("applied migrations are %v, want 0001 and 0002", applied)
	}
	dep, err := d.check.latestDeployment(ctx)
	if err != nil {
		return "", "", err
	}
	moved, err := d.check.trafficMovedAt(ctx, deref(dep.DeploymentId))
	if err != nil {
		return "", "", err
	}
	order, err := d.check.migrationBeforeTraffic(ctx, deref(dep.DeploymentId), moved)
	if err != nil {
		return "", "", err
	}
	web, err := d.checkWeb(ctx)
	if err != nil {
		return "", "", err
	}
	td, err := d.check.servingTaskDefinition(ctx)
	if err != nil {
		return "", "", err
	}
	for _, c := range td.ContainerDefinitions {
		if deref(c.Name) == d.env.Resources.ContainerName {
			image = deref(c.Image)
		}
	}
	if !strings.HasPrefix(image, d.env.Resources.ECRRepositoryURL+"@sha256:") {
		return "", "", fmt.Errorf("the service runs %q, want an image of its own repository %s pinned by digest", image, d.env.Resources.ECRRepositoryURL)
	}
	return image, fmt.Sprintf("%s; migrations 0001, 0002 applied (%s); %s; runs %s", serving, order, web, image), nil
}

func (d *daggerRun) release(ctx context.Context) (string, error) {
	if err := d.mustDagger(ctx, daggerStaging, "release", "--commit", d.commit); err != nil {
		return "", err
	}
	if _, err := d.environment(ctx, daggerStaging); err != nil {
		return "", err
	}
	image, outcome, err := d.shipped(ctx)
	d.image = image
	return outcome, err
}

func (d *daggerRun) promote(ctx context.Context) (string, error) {
	if err := d.mustDagger(ctx, daggerProduction, "promote"); err != nil {
		return "", err
	}
	if _, err := d.environment(ctx, daggerProduction); err != nil {
		return "", err
	}
	image, outcome, err := d.shipped(ctx)
	if err != nil {
		return "", err
	}
	// Exactly what staging runs, from production's own repository.
	if digestOf(image) != digestOf(d.image) {
		return "", fmt.Errorf("production runs %s, staging %s: not the same digest", image, d.image)
	}
	return outcome + "; the digest staging runs", nil
}

func digestOf(ref string) string { return ref[strings.LastIndexByte(ref, '@')+1:] }

// failingRelease releases an API whose migration Postgres rejects: the call must fail
// naming the step, the command and its exit code with the timeline, the deployment
// must be rolled back, the schema unchanged and the released version still serving.
func (d *daggerRun) failingRelease(ctx context.Context) (string, error) {
	commit := d.commit + "-failing-migration"
	res, err := d.dagger(ctx, daggerStaging, []string{"--api", d.failingAPI, "--api-path", "examples/api"}, "release", "--commit", commit)
	if err != nil {
		return "", err
	}
	if res.ExitCode == 0 {
		return "", fmt.Errorf("dagger call release of %s succeeded; its migration should have failed the rollout", commit)
	}
	failure := res.Error()
	d.say("  dagger call release failed, as it should; what it said:\n%s", indent(failure, "    "))
	for _, want := range []string{"rollout (staging) failed: kmdeploy rollout --image ", "exited with code ", "STEP", "rollout staging", "not run"} {
		if !strings.Contains(failure, want) {
			return "", fmt.Errorf("the failure through dagger call does not say %q (the step, the command, its exit code and the timeline)", want)
		}
	}
	if _, err := d.environment(ctx, daggerStaging); err != nil {
		return "", err
	}
	dep, err := d.check.latestDeployment(ctx)
	if err != nil {
		return "", err
	}
	if string(dep.Status) != "Failed" {
		return "", fmt.Errorf("deployment %s is %s, want Failed", deref(dep.DeploymentId), dep.Status)
	}
	applied, err := appliedMigrations(ctx, d.env.DBAdminURL)
	if err != nil {
		return "", err
	}
	if strings.Join(applied, ",") != "0001_initial,0002_profile_bio" {
		return "", fmt.Errorf("applied migrations are %v after the failed migration, want 0001 and 0002 only", applied)
	}
	serving, err := d.check.expectServing(ctx, d.commit)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("dagger call exited %d naming the step, command and exit code, with the timeline; deployment %s Failed, schema unchanged; %s",
		res.ExitCode, deref(dep.DeploymentId), serving), nil
}

// lineFilter writes the lines holding marker to w, from the marker on, indented.
type lineFilter struct {
	w       io.Writer
	marker  string
	partial []byte
}

func (f *lineFilter) Write(b []byte) (int, error) {
	f.partial = append(f.partial, b...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(f.partial[:i])
		f.partial = f.partial[i+1:]
		if i := strings.Index(line, f.marker); i >= 0 {
			fmt.Fprintf(f.w, "    %s\n", line[i:])
		}
	}
}
