// Package rehearsal runs a complete release of the Know Me product against the local
// AWS emulation, with real parts: a real Postgres, real OCI images of the sample API
// pushed to the emulated ECR, ECS tasks running those images as local processes, the
// product's own Lambda handlers, and the kmdeploy binary driving it all as a user
// would. It releases v1, then v2 (whose migration must run before traffic moves), then
// v3 (whose migration fails: the deployment fails and traffic stays on v2), runs the
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

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"golang.org/x/sync/errgroup"

	"github.com/knowmetools/km-release/internal/awsemu"
	"github.com/knowmetools/km-release/internal/awsemu/taskrun"
	"github.com/knowmetools/km-release/internal/pglocal"
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
	// Description of the environment; zero value means DefaultDescription.
	Description Description
	// StepTimeout bounds each step; default 5m.
	StepTimeout time.Duration
}

// ErrCannotStart marks a rehearsal that could not start its emulation, database or
// work directory (a machine problem, not a release misbehaving).
var ErrCannotStart = errors.New("the rehearsal could not start")

// Run performs the rehearsal and returns its timeline. The error is non-nil when any
// step did not behave as expected; everything started is stopped either way.
func Run(ctx context.Context, opts Options) (*Timeline, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Description.Env == "" {
		opts.Description = DefaultDescription()
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = 5 * time.Minute
	}
	if _, err := os.Stat(filepath.Join(opts.ModuleDir, "go.mod")); err != nil {
		return nil, fmt.Errorf("rehearsal: %s is not the repository root (no go.mod): run from the repository", opts.ModuleDir)
	}
	r := &run{opts: opts, tl: &Timeline{}, detail: &tailBuffer{max: 60}}
	start := time.Now()
	err := r.steps(ctx)
	cerr := r.teardown()
	r.tl.Total = time.Since(start)
	if err == nil {
		err = cerr
	}
	return r.tl, err
}

// run is one rehearsal in progress.
type run struct {
	opts   Options
	tl     *Timeline
	detail *tailBuffer // emulation events and container output

	workDir  string
	emu      *awsemu.Emulator
	runner   *taskrun.Runner
	services *taskrun.Services
	db       *pglocal.Server
	env      *Environment
	rels     []*release
	webDir   string
	kd       *kmdeploy
	check    *checker
	ports    []int // ports given to tasks, to prove nothing keeps listening
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
	var err error
	if r.workDir, err = os.MkdirTemp("", "rehearsal-"); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	steps := []struct {
		name string
		f    func(context.Context) (string, error)
	}{
		{"start AWS emulation and Postgres", r.start},
		{"provision environment", r.provision},
		{"build images v1 v2 v3, web bundle, kmdeploy", r.build},
		{"release v1", r.releaseV1},
		{"publish web", r.publishWeb},
		{"v2 before its migration", r.previewV2},
		{"release v2", r.releaseV2},
		{"release v3 (failing migration)", r.releaseV3},
		{"background jobs", r.backgroundJobs},
		{"kmdeploy status", r.status},
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
	if err := os.MkdirAll(filepath.Join(r.workDir, "images"), 0o755); err != nil {
		return "", err
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(r.detailWriter(), "  · "+format+"\n", args...)
	}
	r.services = taskrun.NewServices(taskrun.ServicesOptions{Logf: logf})
	var g errgroup.Group
	g.Go(func() error {
		emu, err := awsemu.Start(ctx, awsemu.Options{
			TaskRunner: r.runner, Install: r.services.Install, Logf: logf,
			HookTimeout: 3 * time.Minute, DeploymentMinute: 100 * time.Millisecond,
		})
		r.emu = emu
		return err
	})
	g.Go(func() error {
		db, err := pglocal.Start(ctx, pglocal.Options{})
		r.db = db
		return err
	})
	if err := g.Wait(); err != nil {
		return "", err
	}
	r.services.Connect(r.emu.AWSConfig())
	return fmt.Sprintf("emulation at %s (registry %s), Postgres at 127.0.0.1:%d", r.emu.Endpoint(), r.emu.RegistryHost(), r.db.Port), nil
}

func (r *run) provision(ctx context.Context) (string, error) {
	d := r.opts.Description
	// The service's first task definition names the image the first release will push;
	// nothing runs it before that release replaces it.
	placeholder := fmt.Sprintf("%s/%s-%s/api:bootstrap", r.emu.RegistryHost(), d.App, d.Env)
	env, err := Provision(ctx, r.emu, r.db, d, placeholder, r.detailWriter())
	if err != nil {
		return "", err
	}
	r.env = env
	cfg := r.emu.AWSConfig()
	r.check = &checker{env: env, ecs: ecs.NewFromConfig(cfg), elb: elbv2.NewFromConfig(cfg), cd: codedeploy.NewFromConfig(cfg)}
	if missing := env.MissingOutputs(); len(missing) > 0 {
		return "", fmt.Errorf("outputs without a value: %s", strings.Join(missing, ", "))
	}
	return fmt.Sprintf("%d outputs, cluster %s, service %s, API %s, web %s", len(env.Outputs()), env.Resources.Cluster, env.Resources.Service, env.Resources.APIURL, env.Resources.WebURL), nil
}

func (r *run) build(ctx context.Context) (string, error) {
	rels, err := releases(r.opts.ModuleDir)
	if err != nil {
		return "", err
	}
	r.rels = rels
	r.webDir = filepath.Join(r.workDir, "web")
	bin := filepath.Join(r.workDir, "kmdeploy")
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2) // two cores are common; more parallel compiles only thrash
	g.Go(func() error { return buildKMDeploy(gctx, r.opts.ModuleDir, bin) })
	for _, rel := range rels {
		g.Go(func() error {
			return buildImage(gctx, r.opts.ModuleDir, r.workDir, r.env.Resources.ECRRepositoryURL, rel)
		})
	}
	g.Go(func() error { return buildWeb(gctx, r.opts.ModuleDir, r.env.Resources.APIURL, r.webDir) })
	if err := g.Wait(); err != nil {
		return "", err
	}
	r.kd = &kmdeploy{bin: bin, out: r.opts.Out, env: append(r.env.Environ(r.emu),
		"PATH="+os.Getenv("PATH"), "HOME="+r.workDir, "KM_ROLLOUT_TIMEOUT=4m", "KM_MIGRATION_TIMEOUT=3m",
		"KM_TASK_TIMEOUT=3m", "KM_WEB_INVALIDATION_TIMEOUT=2m")}
	var names []string
	for _, rel := range rels {
		names = append(names, rel.Version+"="+rel.Image[strings.LastIndexByte(rel.Image, '@')+1:][:19])
	}
	return "pushed " + strings.Join(names, ", ") + "; web bundle built for " + r.env.Resources.APIURL, nil
}

// rollout runs `kmdeploy rollout` for rel.
func (r *run) rollout(ctx context.Context, rel *release) (result, error) {
	return r.kd.run(ctx, "rollout", "--image", rel.Image)
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
	res, err := r.kd.run(ctx, "publish-web", "--dir", r.webDir, "--version", "web-v1")
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
	res, err := r.kd.run(ctx, "status")
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
	if r.db != nil {
		errs = append(errs, r.db.Close())
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
	s := Step{Name: "teardown", Duration: time.Since(start), Outcome: fmt.Sprintf("emulation, tasks and Postgres stopped; %d task ports checked closed", len(r.ports))}
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
