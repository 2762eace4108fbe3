// Package rehearsal runs a complete release of the Know Me product against the local
// AWS emulation, with real parts: the repository's infra/ applied by `kmdeploy infra
// apply` with the real Terraform AWS provider, RDS backed by a real Postgres, real OCI
// images of the sample API pushed to the emulated ECR, ECS tasks running those images
// as local processes, the product's own Lambda handlers, and the kmdeploy binary
// driving it all as a user would. After the apply it checks that a plan shows no
// changes and no drift. It releases v1, then v2 (whose migration must run before
// traffic moves), then v3 (whose migration fails: the deployment fails and traffic
// stays on v2), then rolls a Terraform change of the task definition out, runs the
// background jobs once and prints `kmdeploy status` and a timeline.
//
// `make rehearse` (cmd/rehearse) and the end-to-end test run the same Run.
package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/taskrun"
	"github.com/knowmetools/km-release/testrig/realinfra"
	"github.com/knowmetools/km-release/testrig/syncbuf"
)

// Options configure Run.
type Options struct {
	// ModuleDir is the repository root (go.mod, examples/, cmd/kmdeploy).
	ModuleDir string
	// Out receives the narration: steps, kmdeploy's output, the timeline.
	Out io.Writer
	// Verbose also shows the emulation's events and every container's output live;
	// otherwise their last lines are shown when a step fails.
	Verbose bool
	// StepTimeout bounds each step; default 5m.
	StepTimeout time.Duration
	// Timeout bounds all the steps together; default 20m.
	Timeout time.Duration
	// Then, when set, runs after the last step succeeded, with the environment still
	// up (tests check more on it); its error fails the rehearsal.
	Then func(ctx context.Context, rig *Rig) error
	// Keep leaves the environment up after the last step, prints the variables that
	// point kmdeploy, terraform and awscli at it, and waits until ctx ends (Ctrl-C).
	Keep bool
}

// ErrCannotStart marks a rehearsal that could not start its emulation, database or
// work directory (a machine problem, not a release misbehaving).
var ErrCannotStart = errors.New("the rehearsal could not start")

// Run performs the rehearsal and returns its timeline. The error is non-nil when any
// step did not behave as expected; everything started is stopped either way.
func Run(ctx context.Context, opts Options) (*Timeline, error) {
	if err := opts.setDefaults(5*time.Minute, 20*time.Minute); err != nil {
		return nil, err
	}
	r := newRun(ctx, opts)
	return r.tl, r.perform(ctx, r.steps)
}

// setDefaults fills in the output and the timeouts, and checks the module directory.
func (o *Options) setDefaults(step, total time.Duration) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = step
	}
	if o.Timeout <= 0 {
		o.Timeout = total
	}
	if _, err := os.Stat(filepath.Join(o.ModuleDir, "go.mod")); err != nil {
		return fmt.Errorf("rehearsal: %s is not the repository root (no go.mod): run from the repository", o.ModuleDir)
	}
	return nil
}

func newRun(ctx context.Context, opts Options) *run {
	r := &run{opts: opts, tl: &Timeline{}, detail: &tailBuffer{max: 60}}
	r.bgCtx, r.bgCancel = context.WithCancel(ctx)
	return r
}

// perform runs steps within the overall timeout, then Then and Keep, and tears down.
func (r *run) perform(ctx context.Context, steps func(context.Context) error) error {
	opts := r.opts
	start := time.Now()
	stepsCtx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err := steps(stepsCtx)
	cancel()
	if err == nil && opts.Then != nil {
		err = opts.Then(ctx, &Rig{r: r})
	}
	if opts.Keep && r.env != nil {
		r.keep(ctx, err)
	}
	cerr := r.teardown()
	r.tl.Total = time.Since(start)
	if err == nil {
		err = cerr
	}
	return err
}

// run is one rehearsal in progress.
type run struct {
	opts   Options
	tl     *Timeline
	detail *tailBuffer // emulation events and container output
	// lambdaLog is everything the Lambda handlers logged, for checks of what they said.
	lambdaLog syncbuf.Buffer

	workDir  string
	emu      *awsemu.Emulator
	runner   *taskrun.Runner
	services *taskrun.Services
	infra    *realinfra.Copy
	env      *Environment
	rels     []*release
	images   chan error // the images' build, started early, reported by push
	bgCtx    context.Context
	bgCancel context.CancelFunc
	bg       sync.WaitGroup // background work, waited for by teardown
	webDir   string
	kd       *kmdeploy // as the account's administrator: infra commands
	ci       *kmdeploy // as the pipeline: the GitHub Actions role infra/ creates
	check    *checker
	ports    []int // ports given to tasks, to prove nothing keeps listening
	// Where the emulation listens (awsemu.Options); the defaults when empty.
	listenHost   string
	registryPort int
}

func (r *run) say(format string, args ...any) { fmt.Fprintf(r.opts.Out, format+"\n", args...) }

// step runs one timed step; its outcome line goes to the timeline.
func (r *run) step(ctx context.Context, name string, f func(ctx context.Context) (string, error)) error {
	r.say("\n==> %s", name)
	ctx, cancel := context.WithTimeout(ctx, r.opts.StepTimeout)
	defer cancel()
	start := time.Now()
	outcome, err := f(ctx)
	s := Step{Name: name, Duration: time.Since(start), Outcome: outcome}
	if err != nil {
		s.Failed, s.Outcome = true, err.Error()
		r.say("FAILED: %v", err)
		if !r.opts.Verbose {
			if tail := r.detail.String(); tail != "" {
				r.say("Last emulation events and container output:\n%s", tail)
			}
		}
	} else {
		r.say("ok: %s", outcome)
	}
	r.tl.Steps = append(r.tl.Steps, s)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (r *run) detailWriter() io.Writer {
	if r.opts.Verbose {
		return io.MultiWriter(r.detail, r.opts.Out)
	}
	return r.detail
}

func (r *run) steps(ctx context.Context) error {
	return r.runSteps(ctx, []namedStep{
		{"start the AWS emulation", r.start},
		{"build kmdeploy and the Lambda zips", r.buildTools},
		{"kmdeploy infra apply (infra/, real AWS provider)", r.apply},
		{"no changes, no drift after the apply", r.noDrift},
		{"push images v1 v2 v3 as the pipeline, build the web bundle", r.push},
		{"release v1", r.releaseV1},
		{"publish web", r.publishWeb},
		{"v2 before its migration", r.previewV2},
		{"release v2", r.releaseV2},
		{"release v3 (failing migration)", r.releaseV3},
		{"a Terraform change reaches the service", r.configChange},
		{"background jobs", r.backgroundJobs},
		{"kmdeploy status", r.status},
		{"least privilege, measured", r.leastPrivilege},
	})
}

// namedStep is one step of a flow.
type namedStep struct {
	name string
	f    func(context.Context) (string, error)
}

// runSteps makes the work directory and runs steps in order until one fails; a
// failing first step (the start) is ErrCannotStart.
func (r *run) runSteps(ctx context.Context, steps []namedStep) error {
	var err error
	if r.workDir, err = os.MkdirTemp("", "rehearsal-"); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	for i, s := range steps {
		if err := r.step(ctx, s.name, s.f); err != nil {
			if i == 0 {
				return fmt.Errorf("%w: %w", ErrCannotStart, err)
			}
			return err
		}
	}
	return nil
}

func (r *run) start(ctx context.Context) (string, error) {
	var err error
	if r.runner, err = taskrun.New(taskrun.Options{WorkDir: filepath.Join(r.workDir, "images"), Output: r.detailWriter()}); err != nil {
		return "", err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(r.detailWriter(), "  · "+format+"\n", args...)
	}
	r.services = taskrun.NewServices(taskrun.ServicesOptions{Logf: logf})
	r.emu, err = awsemu.Start(ctx, awsemu.Options{
		TaskRunner: r.runner, Install: r.services.Install, Logf: logf, Postgres: true,
		HookTimeout: 3 * time.Minute, DeploymentMinute: 100 * time.Millisecond,
		ListenHost: r.listenHost, RegistryPort: r.registryPort,
	})
	if err != nil {
		return "", err
	}
	r.services.Connect(r.emu.AWSConfig())
	if err := r.accountSetup(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("emulation at %s (registry %s); state bucket %s and hosted zone %s created", r.emu.Endpoint(), r.emu.RegistryHost(), stateBucket, dnsZone), nil
}

// buildTools builds the deploy tool and prepares infra/ with the Lambda zips it
// deploys; the API images are compiled meanwhile, in the background (push joins them).
func (r *run) buildTools(ctx context.Context) (string, error) {
	rels, err := releases(r.opts.ModuleDir)
	if err != nil {
		return "", err
	}
	r.rels = rels
	r.images = make(chan error, 1)
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		g, gctx := errgroup.WithContext(r.bgCtx)
		g.SetLimit(1) // beside the apply: two cores are common
		for _, rel := range rels {
			g.Go(func() error { return assemble(gctx, r.opts.ModuleDir, r.workDir, rel) })
		}
		r.images <- g.Wait()
	}()
	bin := filepath.Join(r.workDir, "bin", "kmdeploy")
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return buildKMDeploy(gctx, r.opts.ModuleDir, bin) })
	g.Go(func() error {
		var err error
		r.infra, err = realinfra.Prepare(gctx, r.opts.ModuleDir, r.workDir)
		return err
	})
	if err := g.Wait(); err != nil {
		return "", err
	}
	r.kd = &kmdeploy{bin: bin, out: r.opts.Out}
	r.kd.env = r.kmdeployEnv(r.infra)
	return "kmdeploy built; infra/ copied to " + r.infra.Dir + " with the Lambda zips `make lambdas` builds", nil
}

// apply provisions the environment from infra/ with `kmdeploy infra apply`, then
// wires the product's Lambda handlers to the functions Terraform created.
func (r *run) apply(ctx context.Context) (string, error) {
	if err := r.kd.must(ctx, "infra", "apply", "--auto-plan"); err != nil {
		return "", err
	}
	env, err := r.readEnvironment(ctx)
	if err != nil {
		return "", err
	}
	r.env = env
	r.wireLambdas(env.Resources)
	if r.ci, err = r.pipelineKmdeploy(env.Resources.GitHubActionsRoleARN); err != nil {
		return "", err
	}
	r.check = newChecker(r.emu, env)
	res := env.Resources
	return fmt.Sprintf("workspace %s applied: cluster %s, service %s, database %s, API %s, web %s", envName, res.Cluster, res.Service, res.DBEndpoint, res.APIURL, res.WebURL), nil
}

// noDrift checks that the environment is exactly what infra/ describes: a new plan
// has nothing to do and the daily drift check passes.
func (r *run) noDrift(ctx context.Context) (string, error) {
	res, err := r.kd.run(ctx, "infra", "plan")
	if err != nil {
		return "", err
	}
	const none = "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy."
	if res.ExitCode != 0 || !strings.Contains(res.Output, none) {
		return "", fmt.Errorf("kmdeploy infra plan right after the apply (exit code %d) does not say %q", res.ExitCode, none)
	}
	if err := r.kd.must(ctx, "infra", "drift"); err != nil {
		return "", err
	}
	return "kmdeploy infra plan: no changes; kmdeploy infra drift: exit code 0", nil
}

// push pushes the images built in the background to the environment's repository and
// builds the web bundle for its API URL.
func (r *run) push(ctx context.Context) (string, error) {
	select {
	case err := <-r.images:
		if err != nil {
			return "", err
		}
	case <-ctx.Done():
		return "", ctx.Err()
	}
	// As the release workflow does: the GitHub Actions role's registry password.
	auth, err := r.ci.registryAuth(ctx)
	if err != nil {
		return "", err
	}
	r.webDir = filepath.Join(r.workDir, "web")
	g, gctx := errgroup.WithContext(ctx)
	for _, rel := range r.rels {
		g.Go(func() error { return rel.push(gctx, r.env.Resources.ECRRepositoryURL, auth) })
	}
	g.Go(func() error { return buildWeb(gctx, r.opts.ModuleDir, r.env.Resources.APIURL, r.webDir) })
	if err := g.Wait(); err != nil {
		return "", err
	}
	var names []string
	for _, rel := range r.rels {
		names = append(names, rel.Version+"="+rel.Image[strings.LastIndexByte(rel.Image, '@')+1:][:19])
	}
	return "pushed " + strings.Join(names, ", ") + "; web bundle built for " + r.env.Resources.APIURL, nil
}

// rollout runs `kmdeploy rollout` for rel.
func (r *run) rollout(ctx context.Context, rel *release) (result, error) {
	return r.ci.run(ctx, "rollout", "--image", rel.Image)
}

func (r *run) releaseV1(ctx context.Context) (string, error) {
	res, err := r.rollout(ctx, r.rels[0])
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("kmdeploy rollout exited %d", res.ExitCode)
	}
	applied, err := appliedMigrations(ctx, r.env.DBAdminURL)
	if err != nil {
		return "", err
	}
	if strings.Join(applied, ",") != "0001_initial" {
		return "", fmt.Errorf("applied migrations are %v, want [0001_initial]", applied)
	}
	serving, err := r.check.expectServing(ctx, "v1")
	if err != nil {
		return "", err
	}
	return "migration 0001 applied by the hook's task; " + serving, nil
}

func (r *run) publishWeb(ctx context.Context) (string, error) {
	res, err := r.ci.run(ctx, "publish-web", "--dir", r.webDir, "--version", "web-v1")
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("kmdeploy publish-web exited %d", res.ExitCode)
	}
	return r.checkWeb(ctx)
}

func (r *run) previewV2(ctx context.Context) (string, error) {
	st, err := r.check.preview(ctx, r.rels[1].Image)
	if err != nil {
		return "", err
	}
	if st.Code != 503 || st.Version != "v2" {
		return "", fmt.Errorf("v2 answered %s before its migration; want 503 (its health check must fail until migrated)", st)
	}
	return "v2 on the v1 schema answers " + st.String() + ": no load balancer would send it traffic", nil
}

func (r *run) releaseV2(ctx context.Context) (string, error) {
	stop := r.check.watchTraffic(ctx, "v2")
	res, err := r.rollout(ctx, r.rels[1])
	w := stop()
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("kmdeploy rollout exited %d", res.ExitCode)
	}
	for _, s := range w.samples {
		r.say("  traffic: %s", s)
	}
	dep, err := r.check.latestDeployment(ctx)
	if err != nil {
		return "", err
	}
	order, err := r.check.migrationBeforeTraffic(ctx, deref(dep.DeploymentId), w.movedAt)
	if err != nil {
		return "", err
	}
	serving, err := r.check.expectServing(ctx, "v2")
	if err != nil {
		return "", err
	}
	if err := r.waitOnlyVersionRuns(ctx, "v2"); err != nil {
		return "", err
	}
	return order + "; " + serving + "; v1 tasks stopped", nil
}

func (r *run) releaseV3(ctx context.Context) (string, error) {
	res, err := r.rollout(ctx, r.rels[2])
	if err != nil {
		return "", err
	}
	if res.ExitCode == 0 {
		return "", errors.New("kmdeploy rollout of v3 succeeded; its migration should have failed the deployment")
	}
	dep, err := r.check.latestDeployment(ctx)
	if err != nil {
		return "", err
	}
	if string(dep.Status) != "Failed" {
		return "", fmt.Errorf("deployment %s is %s, want Failed", deref(dep.DeploymentId), dep.Status)
	}
	// The command must say why: the migration's exit or its log naming the migration.
	for _, why := range []string{failingMigration.Name[:len(failingMigration.Name)-len(".sql")], "exit code 1"} {
		if !strings.Contains(res.Output, why) {
			return "", fmt.Errorf("kmdeploy's output does not show why the deployment failed: %q is missing", why)
		}
	}
	applied, err := appliedMigrations(ctx, r.env.DBAdminURL)
	if err != nil {
		return "", err
	}
	if strings.Join(applied, ",") != "0001_initial,0002_profile_bio" {
		return "", fmt.Errorf("applied migrations are %v after the failed v3 migration, want 0001 and 0002 only", applied)
	}
	serving, err := r.check.expectServing(ctx, "v2")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("deployment %s Failed (exit %d), schema unchanged; %s", deref(dep.DeploymentId), res.ExitCode, serving), nil
}

// configChange changes the API's plain environment in Terraform (api_environment),
// applies, and rolls the serving version out again: the new tasks get the new value,
// since a rollout derives its revision from the one Terraform registered.
func (r *run) configChange(ctx context.Context) (string, error) {
	const name, value = "KM_REHEARSAL_GREETING", "hello-from-terraform"
	r.kd.env = append(r.kd.env, fmt.Sprintf(`TF_VAR_api_environment={%q:%q}`, name, value))
	r.ci.env = append(r.ci.env, fmt.Sprintf(`TF_VAR_api_environment={%q:%q}`, name, value))
	if err := r.kd.must(ctx, "infra", "apply", "--auto-plan"); err != nil {
		return "", err
	}
	if _, err := r.rollout(ctx, r.rels[1]); err != nil {
		return "", err
	}
	td, err := r.check.servingTaskDefinition(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range td.ContainerDefinitions {
		for _, kv := range c.Environment {
			if deref(kv.Name) == name && deref(kv.Value) == value {
				if err := r.waitOnlyVersionRuns(ctx, "v2"); err != nil {
					return "", err
				}
				return fmt.Sprintf("api_environment applied; %s (v2) serves with %s=%s", shortARN(deref(td.TaskDefinitionArn)), name, value), nil
			}
		}
	}
	return "", fmt.Errorf("the service runs %s without %s=%s: Terraform's change did not reach it", deref(td.TaskDefinitionArn), name, value)
}

// keep leaves the environment up until ctx ends, telling the user how to reach it.
func (r *run) keep(ctx context.Context, stepsErr error) {
	if stepsErr != nil {
		r.say("\nThe rehearsal did not behave as expected (%v); its environment stays up as it is.", stepsErr)
	}
	r.say("\nThe environment stays up until Ctrl-C. From another shell, paste these lines:\n")
	r.exports(r.opts.Out)
	r.say(`
Then, for example:
  kmdeploy status                      kmdeploy infra plan        kmdeploy infra output
  kmdeploy rollout --image %s
  terraform -chdir="$KM_TF_DIR" state list
  aws ecs list-tasks --cluster %s      aws s3 ls s3://%s
The database's admin credentials are in Secrets Manager: aws secretsmanager get-secret-value --secret-id %s`,
		r.rels[0].Image, r.env.Resources.Cluster, r.env.Resources.WebBucket, r.env.Resources.DBAdminSecretARN)
	<-ctx.Done()
	r.say("\nStopping the environment.")
}

// waitOnlyVersionRuns waits until the service's only running tasks are version's: the
// original task set's tasks stop once CodeDeploy deletes it.
func (r *run) waitOnlyVersionRuns(ctx context.Context, version string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		tasks, err := r.check.clusterTasks(ctx)
		if err != nil {
			return err
		}
		var others []string
		for _, t := range tasks {
			if deref(t.Group) != "service:"+r.env.Resources.Service || deref(t.LastStatus) == "STOPPED" {
				continue
			}
			img := ""
			for _, c := range t.Containers {
				img = deref(c.Image)
			}
			if img != r.imageOf(version) {
				others = append(others, deref(t.TaskArn)+" ("+img+")")
			}
		}
		if len(others) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service tasks of other versions still run: %s", strings.Join(others, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *run) imageOf(version string) string {
	for _, rel := range r.rels {
		if rel.Version == version {
			return rel.Image
		}
	}
	return ""
}

func (r *run) status(ctx context.Context) (string, error) {
	res, err := r.ci.run(ctx, "status")
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fmt.Errorf("kmdeploy status exited %d", res.ExitCode)
	}
	digest := r.rels[1].Image[strings.LastIndexByte(r.rels[1].Image, '@')+1:]
	if !strings.Contains(res.Output, digest) {
		return "", fmt.Errorf("kmdeploy status does not show v2's image %s as running", digest)
	}
	return "status shows v2 (" + digest[:19] + ") running and the failed v3 deployment", nil
}

// teardown stops everything the rehearsal started and checks that no service task
// still listens.
func (r *run) teardown() error {
	start := time.Now()
	var errs []error
	r.bgCancel()
	r.bg.Wait()
	if r.services != nil {
		r.services.Close()
		r.ports = append(r.ports, r.services.Ports()...)
	}
	if r.check != nil {
		r.ports = append(r.ports, r.check.ports...)
	}
	if r.emu != nil {
		errs = append(errs, r.emu.Close())
	}
	if r.runner != nil {
		errs = append(errs, r.runner.Close())
	}
	if r.workDir != "" {
		errs = append(errs, os.RemoveAll(r.workDir))
	}
	for _, p := range r.ports {
		if _, err := getStatus(context.Background(), p); err == nil {
			errs = append(errs, fmt.Errorf("a task still answers on 127.0.0.1:%d after the emulation stopped", p))
		}
	}
	err := errors.Join(errs...)
	s := Step{Name: "teardown", Duration: time.Since(start), Outcome: fmt.Sprintf("emulation, tasks and the database's Postgres stopped; %d task ports checked closed", len(r.ports))}
	if err != nil {
		s.Failed, s.Outcome = true, err.Error()
	}
	r.tl.Steps = append(r.tl.Steps, s)
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// tailBuffer keeps the last max lines written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		t.lines = append(t.lines, string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
