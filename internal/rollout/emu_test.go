package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/internal/imageref"
	"github.com/knowmetools/km-release/internal/rollout"
	"github.com/knowmetools/km-release/internal/servicestatus"
	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
	"github.com/knowmetools/km-release/testrig/freeport"
	"github.com/knowmetools/km-release/testrig/syncbuf"
)

func TestMain(m *testing.M) { envtest.Main(m) }

// The tests share one emulation and its "next task" faults, so they do not run in
// parallel.

func deployer(t testing.TB, env *envfixture.Env, out *syncbuf.Buffer) *rollout.Deployer {
	res := env.Resources
	return &rollout.Deployer{
		Clients:   rollout.NewClients(env.AWS),
		Resources: &res,
		Out:       out,
		// Short polls keep the tests quick; the defaults are tested by the benchmark.
		Poll: rollout.PollSettings{Interval: 200 * time.Millisecond},
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func imageOf(t testing.TB, env *envfixture.Env, td string) string {
	t.Helper()
	out, err := ecs.NewFromConfig(env.AWS).DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(td), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := servicestatus.ContainerImage(out.TaskDefinition, env.Resources.ContainerName)
	return img
}

func mustServiceTD(t testing.TB, env *envfixture.Env) string {
	t.Helper()
	td, err := env.ServiceTaskDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return td
}

func mustProdTG(t testing.TB, env *envfixture.Env) string {
	t.Helper()
	tg, err := env.ProdTargetGroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// wantInitial checks that the service runs its initial task definition and production
// traffic goes to blue, as before any deployment.
func wantInitial(t testing.TB, env *envfixture.Env) {
	t.Helper()
	if got := mustServiceTD(t, env); got != env.InitialTaskDefinition {
		t.Errorf("service runs %s, want the initial %s", got, env.InitialTaskDefinition)
	}
	if got := mustProdTG(t, env); got != env.Resources.TargetGroupBlue {
		t.Errorf("prod listener on %s, want blue %s", got, env.Resources.TargetGroupBlue)
	}
}

// A change Terraform makes to the task definition (here an environment variable, in a
// revision registered after the one the service runs) reaches the service with the next
// rollout: the new revision is Terraform's with only the image replaced.
func TestRolloutDerivesFromTerraformsRevision(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	ecsc := ecs.NewFromConfig(env.AWS)
	first, err := deployer(t, env, &syncbuf.Buffer{}).Rollout(ctx, rollout.Options{Image: mustPush(t, env, "v1"), Timeout: time.Minute})
	if err != nil {
		t.Fatalf("first rollout: %v", err)
	}
	// What `terraform apply` does when api_environment changes: a new revision of the
	// family, the service untouched.
	tfRev, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(env.InitialTaskDefinition)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := rollout.DeriveTaskDefinition(tfRev.TaskDefinition, nil, env.Resources.ContainerName, env.InitialImage)
	if err != nil {
		t.Fatal(err)
	}
	reg.ContainerDefinitions[0].Environment = append(reg.ContainerDefinitions[0].Environment,
		ecstypes.KeyValuePair{Name: aws.String("FEATURE_FLAG"), Value: aws.String("on")})
	applied, err := ecsc.RegisterTaskDefinition(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	env.Resources.TaskDefinition = aws.ToString(applied.TaskDefinition.TaskDefinitionArn)

	image := mustPush(t, env, "v2")
	out := &syncbuf.Buffer{}
	res, err := deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	t.Logf("output:\n%s", out)
	if err != nil {
		t.Fatalf("second rollout: %v", err)
	}
	got, err := ecsc.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(mustServiceTD(t, env))})
	if err != nil {
		t.Fatal(err)
	}
	c := got.TaskDefinition.ContainerDefinitions[0]
	var flag string
	for _, kv := range c.Environment {
		if aws.ToString(kv.Name) == "FEATURE_FLAG" {
			flag = aws.ToString(kv.Value)
		}
	}
	if aws.ToString(got.TaskDefinition.TaskDefinitionArn) != res.TaskDefinition || aws.ToString(c.Image) != image || flag != "on" {
		t.Errorf("service runs %s with image %s and FEATURE_FLAG=%q; want %s with %s and FEATURE_FLAG=on",
			aws.ToString(got.TaskDefinition.TaskDefinitionArn), aws.ToString(c.Image), flag, res.TaskDefinition, image)
	}
	// The diff shown is against what served before: the image and Terraform's change.
	for _, want := range []string{first.TaskDefinition + " (serving now)", "FEATURE_FLAG"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rollout output lacks %q", want)
		}
	}
}

func mustPush(t testing.TB, env *envfixture.Env, tag string) string {
	t.Helper()
	image, err := env.PushImage(context.Background(), tag)
	if err != nil {
		t.Fatal(err)
	}
	return image
}

func TestRolloutSucceeds(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, err := env.PushImage(ctx, "v2")
	if err != nil {
		t.Fatal(err)
	}
	out := &syncbuf.Buffer{}
	res, err := deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	t.Logf("output:\n%s", out)
	if err != nil {
		t.Fatalf("rollout: %v", err)
	}
	if res.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("status %s", res.Status)
	}
	if got := mustServiceTD(t, env); got != res.TaskDefinition || got == env.InitialTaskDefinition {
		t.Errorf("service runs %s, want the new revision %s", got, res.TaskDefinition)
	}
	if got := imageOf(t, env, res.TaskDefinition); got != image {
		t.Errorf("new revision's image %s, want %s", got, image)
	}
	if got := mustProdTG(t, env); got != env.Resources.TargetGroupGreen {
		t.Errorf("prod listener on %s, want green %s", got, env.Resources.TargetGroupGreen)
	}
	// The derived revision keeps the tags.
	tags, err := ecs.NewFromConfig(env.AWS).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(res.TaskDefinition), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil || len(tags.Tags) != 2 {
		t.Errorf("tags of the new revision: %+v %v", tags, err)
	}
	for _, want := range []string{"Created deployment", env.Resources.MigrationHookEvent + ": Succeeded", "status Succeeded"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q", want)
		}
	}
}

func TestRolloutResolvesTagWhenAllowed(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	pinned, err := env.PushImage(ctx, "v3")
	if err != nil {
		t.Fatal(err)
	}
	_, digest, _ := strings.Cut(pinned, "@")
	d := deployer(t, env, &syncbuf.Buffer{})
	if _, err := d.Rollout(ctx, rollout.Options{Image: env.TagRef("v3"), DryRun: true}); !errors.Is(err, imageref.ErrNotPinned) {
		t.Fatalf("tag without --allow-tag: %v", err)
	}
	res, err := d.Rollout(ctx, rollout.Options{Image: env.TagRef("v3"), AllowTag: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got := imageOf(t, env, res.TaskDefinition); got != env.TagRef("v3")+"@"+digest {
		t.Errorf("image %s, want the tag pinned to %s", got, digest)
	}
}

func TestRolloutFailingMigrationRollsBack(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, err := env.PushImage(ctx, "bad-migration")
	if err != nil {
		t.Fatal(err)
	}
	// The first task of the deployment is the migration task run by the hook.
	env.Emu.Faults().NextTaskExit(env.Resources.ContainerName, 3, "")
	out := &syncbuf.Buffer{}
	_, err = deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	t.Logf("output:\n%s", out)
	var failed *rollout.DeploymentFailedError
	if !errors.As(err, &failed) {
		t.Fatalf("err = %v, want a DeploymentFailedError", err)
	}
	if failed.Status != cdtypes.DeploymentStatusFailed {
		t.Errorf("status %s", failed.Status)
	}
	g := failed.Diagnosis
	if len(g.FailedEvents) == 0 || g.FailedEvents[0].Event != env.Resources.MigrationHookEvent {
		t.Errorf("failed events %+v, want %s", g.FailedEvents, env.Resources.MigrationHookEvent)
	}
	if !hasExit(g, 3) {
		t.Errorf("no stopped task with exit code 3 in %+v", g.StoppedTasks)
	}
	if !g.RolledBack() {
		t.Errorf("diagnosis says not rolled back: %+v", g)
	}
	wantInitial(t, env)
	for _, want := range []string{"Lifecycle event " + env.Resources.MigrationHookEvent + " Failed", "exit code 3", "traffic stayed on the previous revision"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diagnostics lack %q", want)
		}
	}
}

func hasExit(g *rollout.Diagnosis, code int32) bool {
	for _, st := range g.StoppedTasks {
		for _, c := range st.Containers {
			if c.ExitCode != nil && *c.ExitCode == code {
				return true
			}
		}
	}
	return false
}

func TestRolloutReplacementFailsToStart(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	image, err := env.PushImage(ctx, "unpullable")
	if err != nil {
		t.Fatal(err)
	}
	env.Emu.Faults().NextTaskFailsToStart("CannotPullContainerError: pull image manifest has been retried 5 time(s)")
	out := &syncbuf.Buffer{}
	_, err = deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	t.Logf("output:\n%s", out)
	var failed *rollout.DeploymentFailedError
	if !errors.As(err, &failed) {
		t.Fatalf("err = %v, want a DeploymentFailedError", err)
	}
	if !strings.Contains(out.String(), "CannotPullContainerError") {
		t.Errorf("the stopped reason is not shown")
	}
	if got := mustServiceTD(t, env); got != env.InitialTaskDefinition {
		t.Errorf("service runs %s after a failed start", got)
	}
}

// slowMigration keeps the next migration task running, so a deployment stays active.
func slowMigration(env *envfixture.Env, d time.Duration) {
	env.Emu.Faults().NextTaskRunsFor(d)
}

func TestConcurrentRolloutRefusedThenQueued(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	first, _ := env.PushImage(ctx, "first")
	second, _ := env.PushImage(ctx, "second")
	d := deployer(t, env, &syncbuf.Buffer{})
	slowMigration(env, 3*time.Second)
	res1, err := d.Rollout(ctx, rollout.Options{Image: first, NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Rollout(ctx, rollout.Options{Image: second})
	var active *rollout.ActiveDeploymentError
	if !errors.As(err, &active) || active.ID != res1.DeploymentID {
		t.Fatalf("err = %v, want a refusal naming %s", err, res1.DeploymentID)
	}
	if !strings.Contains(err.Error(), "kmdeploy wait "+res1.DeploymentID) {
		t.Errorf("refusal does not say how to follow it: %v", err)
	}
	res2, err := d.Rollout(ctx, rollout.Options{Image: second, WaitForActive: true, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("queued rollout: %v", err)
	}
	if got := imageOf(t, env, mustServiceTD(t, env)); got != second {
		t.Errorf("service image %s, want %s (deployed after %s)", got, second, res2.DeploymentID)
	}
}

func TestDetachAndReattach(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "reattach")
	d := deployer(t, env, &syncbuf.Buffer{})
	slowMigration(env, 3*time.Second)
	// Ctrl-C: cancel as soon as the deployment exists.
	waitCtx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		for waitCtx.Err() == nil {
			if id, _, _ := d.ActiveDeployment(ctx); id != "" {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_, err := d.Rollout(waitCtx, rollout.Options{Image: image})
	var detached *rollout.DetachedError
	if !errors.As(err, &detached) || detached.ID == "" {
		t.Fatalf("err = %v, want DetachedError", err)
	}
	if !strings.Contains(err.Error(), "kmdeploy wait "+detached.ID) {
		t.Errorf("no reattach hint: %v", err)
	}
	id, _, err := d.ActiveDeployment(ctx)
	if err != nil || id != detached.ID {
		t.Fatalf("active deployment %q (%v), want %s still running", id, err, detached.ID)
	}
	res, err := d.Wait(ctx, id, time.Minute)
	if err != nil || res.Status != cdtypes.DeploymentStatusSucceeded {
		t.Fatalf("reattached wait: %+v %v", res, err)
	}
	if got := imageOf(t, env, mustServiceTD(t, env)); got != image {
		t.Errorf("service image %s, want %s", got, image)
	}
}

func TestRollbackInProgress(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "to-stop")
	d := deployer(t, env, &syncbuf.Buffer{})
	slowMigration(env, 5*time.Second)
	res, err := d.Rollout(ctx, rollout.Options{Image: image, NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := d.Rollback(ctx, rollout.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.StoppedDeployment != res.DeploymentID {
		t.Errorf("stopped %q, want %s", rb.StoppedDeployment, res.DeploymentID)
	}
	info, err := codedeploy.NewFromConfig(env.AWS).GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(res.DeploymentID)})
	if err != nil || info.DeploymentInfo.Status != cdtypes.DeploymentStatusStopped {
		t.Errorf("deployment after rollback: %+v %v", info, err)
	}
	wantInitial(t, env)
}

func TestRollbackAfterSuccess(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "v2")
	d := deployer(t, env, &syncbuf.Buffer{})
	if _, err := d.Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	rb, err := d.Rollback(ctx, rollout.RollbackOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if rb.Deployment == nil || rb.TaskDefinition != env.InitialTaskDefinition {
		t.Fatalf("rollback %+v, want a deployment of %s", rb, env.InitialTaskDefinition)
	}
	wantInitial(t, env)
}

func TestDryRunChangesNothing(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "dry")
	before, err := env.TaskDefinitionCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := &syncbuf.Buffer{}
	res, err := deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, DryRun: true})
	if err != nil || !res.DryRun {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	after, _ := env.TaskDefinitionCount(ctx)
	if after != before {
		t.Errorf("dry run registered a revision: %d -> %d", before, after)
	}
	list, err := codedeploy.NewFromConfig(env.AWS).ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName: aws.String(env.Resources.CodeDeployApp), DeploymentGroupName: aws.String(env.Resources.CodeDeployGroup)})
	if err != nil || len(list.Deployments) != 0 {
		t.Errorf("deployments after a dry run: %v %v", list.Deployments, err)
	}
	for _, want := range []string{"~ containerDefinitions[0].image:", image, "version: ", "TaskDefinition:", env.Resources.MigrateFunction} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "throttled")
	f := env.Emu.Faults()
	callsBefore := f.Calls("codedeploy", "GetDeployment")
	// More throttles than one SDK call retries (3 attempts), so the waiter's own
	// backoff has to carry on too.
	f.Throttle("codedeploy", "GetDeployment", 8)
	f.Throttle("codedeploy", "CreateDeployment", 1)
	f.Throttle("ecs", "DescribeServices", 1)
	out := &syncbuf.Buffer{}
	res, err := deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("rollout under throttling: %v\n%s", err, out)
	}
	if res.Status != cdtypes.DeploymentStatusSucceeded {
		t.Errorf("status %s", res.Status)
	}
	if calls := f.Calls("codedeploy", "GetDeployment") - callsBefore; calls < 9 {
		t.Errorf("GetDeployment called %d times, want the 8 throttled calls retried", calls)
	}
}

func TestTimeoutLeavesTheDeploymentRunning(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, _ := env.PushImage(ctx, "slow")
	d := deployer(t, env, &syncbuf.Buffer{})
	slowMigration(env, 4*time.Second)
	_, err := d.Rollout(ctx, rollout.Options{Image: image, Timeout: time.Second})
	var timeout *rollout.TimeoutError
	if !errors.As(err, &timeout) || !strings.Contains(err.Error(), "kmdeploy wait "+timeout.ID) {
		t.Fatalf("err = %v, want a TimeoutError with a reattach hint", err)
	}
	res, err := d.Wait(ctx, timeout.ID, time.Minute)
	if err != nil || res.Status != cdtypes.DeploymentStatusSucceeded {
		t.Fatalf("the deployment did not go on after the timeout: %+v %v", res, err)
	}
}

func TestWaitUnknownDeployment(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	_, err := deployer(t, env, &syncbuf.Buffer{}).Wait(testContext(t), "d-NOSUCH123", time.Minute)
	var cerr *rollout.ConfigError
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestRolloutRefusesAnImageTheRegistryLacks(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	missing := env.Emu.RegistryHost() + "/" + env.Repository + "@sha256:" + strings.Repeat("0", 64)
	before, _ := env.TaskDefinitionCount(ctx)
	_, err := deployer(t, env, &syncbuf.Buffer{}).Rollout(ctx, rollout.Options{Image: missing})
	var cerr *rollout.ConfigError
	if !errors.As(err, &cerr) || !errors.Is(err, imageref.ErrImageNotFound) {
		t.Fatalf("err = %v, want ErrImageNotFound", err)
	}
	if after, _ := env.TaskDefinitionCount(ctx); after != before {
		t.Errorf("a revision was registered for a missing image")
	}
}

// With --allow-tag and a registry that cannot be reached, the tag goes out unpinned and
// the plan says so, instead of failing the rollout on an advisory lookup.
func TestAllowTagWithUnreachableRegistryWarns(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx := testContext(t)
	port, err := freeport.Get() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprintf("127.0.0.1:%d/knowme/api:v9", port)
	d := deployer(t, env, &syncbuf.Buffer{})
	plan, err := d.Plan(ctx, rollout.Options{Image: ref, AllowTag: true})
	if err != nil {
		t.Fatalf("plan with an unreachable registry: %v", err)
	}
	if plan.Image.String() != ref || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "unpinned") {
		t.Fatalf("plan image %s, warnings %q; want the tag unpinned with one warning", plan.Image, plan.Warnings)
	}
}

// The wait for CodeDeploy's rollback deployment has no hidden cap: it is bounded by the
// rollout's timeout and says how to follow the rollback when it gives up.
func TestRollbackWaitIsBoundedByTheTimeout(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := testContext(t)
	image, err := env.PushImage(ctx, "slow-rollback")
	if err != nil {
		t.Fatal(err)
	}
	cd := env.Emu.CodeDeploy()
	// A rollback runs only AllowTraffic, which the failed deployment never reached.
	cd.SlowStep("AllowTraffic", 4*time.Second)
	defer cd.SlowStep("AllowTraffic", 0)
	env.Emu.Faults().NextTaskExit(env.Resources.ContainerName, 3, "")
	out := &syncbuf.Buffer{}
	start := time.Now()
	_, err = deployer(t, env, out).Rollout(ctx, rollout.Options{Image: image, Timeout: time.Second})
	var failed *rollout.DeploymentFailedError
	if !errors.As(err, &failed) {
		t.Fatalf("err = %v, want a DeploymentFailedError\n%s", err, out)
	}
	if waited := time.Since(start); waited > 3500*time.Millisecond {
		t.Errorf("returned after %s: the rollback wait ignored the 1 s timeout", waited)
	}
	if !strings.Contains(out.String(), "Stopped waiting for rollback deployment") || !strings.Contains(out.String(), "kmdeploy wait d-") {
		t.Errorf("output does not say how to follow the rollback:\n%s", out)
	}
	// Let the rollback finish before the next test uses the group.
	if _, err := deployer(t, env, &syncbuf.Buffer{}).Wait(ctx, failed.Diagnosis.RollbackDeploymentID, time.Minute); err != nil {
		t.Fatalf("rollback deployment: %v", err)
	}
}
