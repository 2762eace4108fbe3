package rollout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/knowmetools/km-release/internal/servicestatus"
)

// PollSettings tune how a deployment is followed. The SDK's own waiter polls every 15 s;
// polling every second ends the wait within about a second of CodeDeploy reporting
// the end, and backing off on throttling keeps that polite.
type PollSettings struct {
	// Interval between status polls; default 1 s.
	Interval time.Duration
	// MaxInterval caps the backoff after throttling or transient errors; default 15 s.
	MaxInterval time.Duration
	// Heartbeat is how long the waiter stays silent before saying it is still waiting;
	// default 30 s.
	Heartbeat time.Duration
	// MaxErrors is how many consecutive failed polls end the wait, each after the SDK's
	// own retries; default 20.
	MaxErrors int
}

func (p PollSettings) withDefaults() PollSettings {
	if p.Interval <= 0 {
		p.Interval = time.Second
	}
	if p.MaxInterval < p.Interval {
		p.MaxInterval = max(15*time.Second, p.Interval)
	}
	if p.Heartbeat <= 0 {
		p.Heartbeat = 30 * time.Second
	}
	if p.MaxErrors <= 0 {
		p.MaxErrors = 20
	}
	return p
}

// backoff spaces polls: the base interval with ±20% jitter, doubled after each
// throttled or failed poll up to the cap, and back to the base after a good one.
type backoff struct {
	settings PollSettings
	current  time.Duration
}

func (b *backoff) next(ok bool) time.Duration {
	if ok || b.current == 0 {
		b.current = b.settings.Interval
	} else {
		b.current = min(2*b.current, b.settings.MaxInterval)
	}
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(b.current) * jitter)
}

func terminal(s cdtypes.DeploymentStatus) bool {
	switch s {
	case cdtypes.DeploymentStatusSucceeded, cdtypes.DeploymentStatusFailed, cdtypes.DeploymentStatusStopped:
		return true
	}
	return false
}

// Wait follows deployment id until it ends, printing progress. It returns the result
// for a success, a *DeploymentFailedError (with diagnosis) for Failed or Stopped, a
// *TimeoutError when timeout (if > 0) expires, and a *DetachedError when ctx is
// cancelled; in the last two cases the deployment keeps running.
func (d *Deployer) Wait(ctx context.Context, id string, timeout time.Duration) (*Result, error) {
	if err := d.check(WaitNeeds); err != nil {
		return nil, err
	}
	settings := d.Poll.withDefaults()
	waitCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p := newProgress(d.out(), id)
	bo := backoff{settings: settings}
	var (
		lastStatus cdtypes.DeploymentStatus
		failures   int
		lastErr    error
	)
	for {
		info, err := servicestatus.Deployment(waitCtx, d.CodeDeploy, id)
		ok := err == nil
		if err != nil {
			if waitCtx.Err() != nil {
				return nil, d.stoppedWaiting(ctx, id, lastStatus, timeout, err)
			}
			var notFound *cdtypes.DeploymentDoesNotExistException
			var badID *cdtypes.InvalidDeploymentIdException
			if errors.As(err, &notFound) || errors.As(err, &badID) {
				return nil, &ConfigError{Err: fmt.Errorf("deployment %s does not exist: check the id (kmdeploy status lists recent ones)", id)}
			}
			// The SDK's retryer has already retried what it deems transient; a poll
			// that still failed is tried again at the next interval, up to MaxErrors.
			failures++
			if failures >= settings.MaxErrors {
				return nil, fmt.Errorf("follow deployment %s: %d polls in a row failed, last: %w", id, failures, err)
			}
			if lastErr == nil || lastErr.Error() != err.Error() {
				p.say("poll failed, retrying with backoff: %v", err)
			}
			lastErr = err
		} else {
			failures, lastErr = 0, nil
			lastStatus = info.Status
			p.deployment(info)
			if terminal(info.Status) {
				return d.finish(ctx, id, info, timeout)
			}
			if info.Status != cdtypes.DeploymentStatusCreated && info.Status != cdtypes.DeploymentStatusQueued {
				d.targetProgress(waitCtx, id, p)
			}
			p.heartbeat(settings.Heartbeat)
		}
		select {
		case <-waitCtx.Done():
			return nil, d.stoppedWaiting(ctx, id, lastStatus, timeout, waitCtx.Err())
		case <-time.After(bo.next(ok)):
		}
	}
}

func (d *Deployer) stoppedWaiting(parent context.Context, id string, status cdtypes.DeploymentStatus, timeout time.Duration, err error) error {
	if parent.Err() != nil {
		return &DetachedError{ID: id, Err: parent.Err()}
	}
	if timeout > 0 {
		return &TimeoutError{ID: id, Timeout: timeout, Status: status}
	}
	return &DetachedError{ID: id, Err: err}
}

// finish turns a final status into the result or the failure with its diagnosis. It
// uses the caller's context, not the wait's, so a timeout does not cut the diagnosis;
// the rollback it waits for gets a timeout of its own, as long as the wait's.
func (d *Deployer) finish(ctx context.Context, id string, info *cdtypes.DeploymentInfo, timeout time.Duration) (*Result, error) {
	res := &Result{DeploymentID: id, Status: info.Status, Detected: time.Now()}
	if info.CompleteTime != nil {
		res.CompleteTime = *info.CompleteTime
	}
	if info.Status == cdtypes.DeploymentStatusSucceeded {
		return res, nil
	}
	d.awaitRollback(ctx, info, timeout)
	diag := d.Diagnose(ctx, info)
	fmt.Fprint(d.out(), diag.Format())
	return res, &DeploymentFailedError{ID: id, Status: info.Status, Diagnosis: diag}
}

// awaitRollback waits for the rollback deployment CodeDeploy started for a failed one,
// so that when the command exits the service is back where it was (or says it is not).
// timeout (KM_ROLLOUT_TIMEOUT; 0 = until ctx ends) bounds it like the rollout's wait.
func (d *Deployer) awaitRollback(ctx context.Context, info *cdtypes.DeploymentInfo, timeout time.Duration) {
	if info.RollbackInfo == nil || aws.ToString(info.RollbackInfo.RollbackDeploymentId) == "" {
		return
	}
	id := aws.ToString(info.RollbackInfo.RollbackDeploymentId)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	bo := backoff{settings: d.Poll.withDefaults()}
	announced := false
	for {
		rb, err := servicestatus.Deployment(ctx, d.CodeDeploy, id)
		if err == nil && terminal(rb.Status) {
			return
		}
		if !announced {
			fmt.Fprintf(d.out(), "Waiting for CodeDeploy's rollback deployment %s\n", id)
			announced = true
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(d.out(), "Stopped waiting for rollback deployment %s (%v): follow it with kmdeploy wait %s\n", id, ctx.Err(), id)
			return
		case <-time.After(bo.next(err == nil)):
		}
	}
}

// targetProgress reports the ECS target's lifecycle events, task sets and target health.
// Errors here never end the wait: they only cost one progress line.
func (d *Deployer) targetProgress(ctx context.Context, id string, p *progress) {
	target, err := d.ecsTarget(ctx, id)
	if err != nil {
		p.once("targets", "lifecycle details unavailable: %v", err)
		return
	}
	if target == nil {
		return
	}
	for _, ev := range target.LifecycleEvents {
		name := aws.ToString(ev.LifecycleEventName)
		msg := string(ev.Status)
		if ev.Diagnostics != nil && aws.ToString(ev.Diagnostics.Message) != "" && ev.Status == cdtypes.LifecycleEventStatusFailed {
			msg += ": " + aws.ToString(ev.Diagnostics.Message)
		}
		if ev.Status == cdtypes.LifecycleEventStatusPending {
			continue // every event starts Pending: only movement is news
		}
		p.change("event "+name, "%s: %s", name, msg)
	}
	var sets []string
	for _, ts := range target.TaskSetsInfo {
		label := string(ts.TaskSetLabel)
		if label == "" {
			label = aws.ToString(ts.Identifer)
		}
		tg := ""
		if ts.TargetGroup != nil {
			tg = " → " + aws.ToString(ts.TargetGroup.Name)
		}
		sets = append(sets, fmt.Sprintf("%s %d/%d running (%d pending), traffic %.0f%%%s", label, ts.RunningCount, ts.DesiredCount, ts.PendingCount, ts.TrafficWeight, tg))
	}
	sort.Strings(sets)
	if len(sets) > 0 {
		p.change("tasksets", "task sets: %s", strings.Join(sets, "; "))
	}
	// Target health changes slowly (health check intervals); asking every poll would
	// only spend the ELB API's rate limit.
	if time.Since(p.lastHealth) >= healthEvery {
		p.lastHealth = time.Now()
		d.targetHealth(ctx, p)
	}
}

// healthEvery spaces target health checks during a wait.
const healthEvery = 5 * time.Second

func (d *Deployer) ecsTarget(ctx context.Context, id string) (*cdtypes.ECSTarget, error) {
	list, err := d.CodeDeploy.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	if len(list.TargetIds) == 0 {
		return nil, nil
	}
	out, err := d.CodeDeploy.GetDeploymentTarget(ctx, &codedeploy.GetDeploymentTargetInput{
		DeploymentId: aws.String(id), TargetId: aws.String(list.TargetIds[0]),
	})
	if err != nil {
		return nil, err
	}
	if out.DeploymentTarget == nil {
		return nil, nil
	}
	return out.DeploymentTarget.EcsTarget, nil
}

// targetHealth reports how many targets each of the service's target groups has
// healthy, which is what decides whether the replacement tasks take traffic.
func (d *Deployer) targetHealth(ctx context.Context, p *progress) {
	if d.ELB == nil {
		return
	}
	var parts []string
	for _, tg := range []struct{ name, arn string }{{"blue", d.Resources.TargetGroupBlue}, {"green", d.Resources.TargetGroupGreen}} {
		if tg.arn == "" {
			continue
		}
		out, err := d.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg.arn)})
		if err != nil {
			p.once("health", "target health unavailable: %v", err)
			return
		}
		counts := map[string]int{}
		for _, h := range out.TargetHealthDescriptions {
			if h.TargetHealth != nil {
				counts[string(h.TargetHealth.State)]++
			}
		}
		var states []string
		for s, n := range counts {
			states = append(states, fmt.Sprintf("%d %s", n, s))
		}
		sort.Strings(states)
		if len(states) == 0 {
			states = []string{"no targets"}
		}
		parts = append(parts, tg.name+": "+strings.Join(states, ", "))
	}
	if len(parts) > 0 {
		p.change("health", "target health: %s", strings.Join(parts, "; "))
	}
}
