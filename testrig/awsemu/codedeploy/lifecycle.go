package codedeploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/knowmetools/km-release/internal/appspec"
)

// errStopped ends a lifecycle because StopDeployment (or a ready-wait timeout) stopped it.
var errStopped = errors.New("deployment stopped")

// errReadyTimeout ends a lifecycle whose ready wait ran out with actionOnTimeout STOP_DEPLOYMENT.
var errReadyTimeout = errors.New("ready wait timed out")

func (s *Server) logf(d *deployment, format string, args ...any) {
	s.cfg.Logf("codedeploy %s: %s", d.info.DeploymentID, fmt.Sprintf(format, args...))
}

// run drives one deployment from Created to a final status.
func (s *Server) run(d *deployment) {
	defer s.wg.Done()
	var err error
	if d.triggeredBy != nil {
		err = s.executeRollback(d)
	} else {
		err = s.execute(d)
	}
	s.complete(d, err)
}

// pause waits d, ending early with the context's error.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) update(d *deployment, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	d.target.LastUpdatedAt = at(time.Now())
}

func (s *Server) eventLocked(d *deployment, name string) *lifecycleEvent {
	for i := range d.target.LifecycleEvents {
		if d.target.LifecycleEvents[i].LifecycleEventName == name {
			return &d.target.LifecycleEvents[i]
		}
	}
	panic("unknown lifecycle event " + name)
}

// step runs one lifecycle event: marks it InProgress, waits the step delay (plus any
// injected slowness), runs work and records the outcome.
func (s *Server) step(d *deployment, name string, work func(ctx context.Context) error) error {
	s.mu.Lock()
	ev := s.eventLocked(d, name)
	ev.Status, ev.StartTime = stInProgress, at(time.Now())
	delay := s.cfg.StepDelay + s.faults.slow[name]
	s.mu.Unlock()
	s.logf(d, "%s started", name)
	err := pause(d.ctx, delay)
	if err == nil && work != nil {
		err = work(d.ctx)
	}
	if err != nil {
		return err // complete() records the failure on the InProgress event
	}
	s.update(d, func() {
		ev := s.eventLocked(d, name)
		ev.Status, ev.EndTime = stSucceeded, at(time.Now())
	})
	s.logf(d, "%s succeeded", name)
	return nil
}

// execute runs an ECS blue/green deployment's lifecycle in AWS's order.
func (s *Server) execute(d *deployment) error {
	ctx := d.ctx
	if err := pause(ctx, s.cfg.StepDelay); err != nil {
		return err
	}
	s.update(d, func() {
		d.info.Status, d.info.StartTime = stInProgress, at(time.Now())
		d.target.Status = stInProgress
	})
	s.logf(d, "InProgress: %s", d.spec.TaskDefinition())
	if err := s.prepare(ctx, d); err != nil {
		return err
	}
	tr := &d.traffic
	hooks := func(event string) func(context.Context) error {
		return func(ctx context.Context) error {
			if fn, ok := d.spec.HookFunction(event); ok {
				return s.runHook(ctx, d, event, fn)
			}
			return nil
		}
	}
	steps := []struct {
		event string
		work  func(context.Context) error
	}{
		{appspec.BeforeInstall, hooks(appspec.BeforeInstall)},
		{evInstall, func(ctx context.Context) error {
			if err := s.createReplacementTaskSet(ctx, d); err != nil {
				return err
			}
			s.update(d, func() { d.target.TaskSetsInfo = s.taskSetsLocked(d, 0) })
			if s.cfg.Install == nil {
				return nil
			}
			if err := s.cfg.Install(ctx, s.installRequest(d)); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return failf("ECS_UPDATE_ERROR", "The replacement task set %s did not become healthy: %v", tr.replTaskSet, err)
			}
			return nil
		}},
		{appspec.AfterInstall, hooks(appspec.AfterInstall)},
		{evAllowTestTraffic, func(ctx context.Context) error {
			if tr.testListener == "" {
				return nil
			}
			tr.testMoved = true
			return s.route(ctx, tr, tr.testListener, tr.origTG, tr.replTG, 100)
		}},
		{appspec.AfterAllowTestTraffic, hooks(appspec.AfterAllowTestTraffic)},
		{appspec.BeforeAllowTraffic, hooks(appspec.BeforeAllowTraffic)},
		{evAllowTraffic, func(ctx context.Context) error { return s.allowTraffic(ctx, d) }},
		{appspec.AfterAllowTraffic, hooks(appspec.AfterAllowTraffic)},
	}
	for _, st := range steps {
		if st.event == appspec.BeforeAllowTraffic {
			if err := s.readyWait(d); err != nil {
				return err
			}
		}
		if err := s.step(d, st.event, st.work); err != nil {
			return err
		}
	}
	return s.terminateOriginal(d)
}

// readyWait holds the deployment in Ready until ContinueDeployment when the group's
// deploymentReadyOption says STOP_DEPLOYMENT.
func (s *Server) readyWait(d *deployment) error {
	ro := d.info.BlueGreenDeploymentConfiguration.DeploymentReadyOption
	if ro == nil || ro.ActionOnTimeout != "STOP_DEPLOYMENT" {
		return nil
	}
	s.update(d, func() {
		d.info.Status, d.target.Status, d.waiting = stReady, stReady, "READY_WAIT"
	})
	s.logf(d, "Ready: waiting for ContinueDeployment (READY_WAIT)")
	var timeout <-chan time.Time
	if ro.WaitTimeInMinutes > 0 {
		t := time.NewTimer(time.Duration(ro.WaitTimeInMinutes) * s.cfg.Minute)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-d.wake:
	case <-timeout:
		return errReadyTimeout
	case <-d.ctx.Done():
		return d.ctx.Err()
	}
	s.update(d, func() {
		d.info.Status, d.target.Status, d.waiting = stInProgress, stInProgress, ""
	})
	return nil
}

// allowTraffic moves production traffic per the deployment configuration and makes the
// replacement task set primary.
func (s *Server) allowTraffic(ctx context.Context, d *deployment) error {
	tr := &d.traffic
	s.mu.Lock()
	cfg, apiErr := s.configLocked(d.info.DeploymentConfigName)
	s.mu.Unlock()
	if apiErr != nil {
		return failf("CODEDEPLOY_RESOURCE_CANNOT_BE_FOUND", "%s", apiErr.Message)
	}
	var weights []int32
	var interval int
	if trc := cfg.TrafficRoutingConfig; trc != nil {
		switch {
		case trc.Type == "TimeBasedCanary" && trc.TimeBasedCanary != nil:
			weights, interval = []int32{int32(trc.TimeBasedCanary.CanaryPercentage)}, trc.TimeBasedCanary.CanaryInterval
		case trc.Type == "TimeBasedLinear" && trc.TimeBasedLinear != nil:
			p := int32(trc.TimeBasedLinear.LinearPercentage)
			for w := p; w < 100; w += p {
				weights = append(weights, w)
			}
			interval = trc.TimeBasedLinear.LinearInterval
		}
	}
	tr.prodMoved = true
	for _, w := range append(weights, 100) {
		if err := s.route(ctx, tr, tr.prodListener, tr.origTG, tr.replTG, w); err != nil {
			return err
		}
		s.update(d, func() { d.target.TaskSetsInfo = s.taskSetsLocked(d, float64(w)) })
		s.logf(d, "production traffic %d%% on %s", w, tr.replTGName)
		if w < 100 {
			if err := pause(ctx, time.Duration(interval)*s.cfg.Minute); err != nil {
				return err
			}
		}
	}
	return s.switchPrimary(ctx, tr)
}

// terminateOriginal waits the group's termination wait (ContinueDeployment with
// TERMINATION_WAIT ends it early) and removes the original task set.
func (s *Server) terminateOriginal(d *deployment) error {
	t := d.info.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess
	if t == nil || t.Action != "TERMINATE" {
		return nil
	}
	if t.TerminationWaitTimeInMinutes > 0 {
		s.update(d, func() { d.info.InstanceTerminationWaitTimeStarted, d.waiting = true, "TERMINATION_WAIT" })
		s.logf(d, "waiting %d minute(s) before terminating the original task set", t.TerminationWaitTimeInMinutes)
		timer := time.NewTimer(time.Duration(t.TerminationWaitTimeInMinutes) * s.cfg.Minute)
		defer timer.Stop()
		select {
		case <-d.wake:
		case <-timer.C:
		case <-d.ctx.Done():
			return d.ctx.Err()
		}
		s.update(d, func() { d.waiting = "" })
	}
	tr := &d.traffic
	if err := s.deleteTaskSet(d.ctx, tr, tr.origTaskSet); err != nil {
		return err
	}
	s.update(d, func() {
		var green []ecsTaskSet
		for _, ts := range d.target.TaskSetsInfo {
			if ts.TaskSetLabel == "Green" {
				green = append(green, ts)
			}
		}
		d.target.TaskSetsInfo = green
	})
	return nil
}

// taskSetsLocked describes the original and replacement task sets for the target.
func (s *Server) taskSetsLocked(d *deployment, greenWeight float64) []ecsTaskSet {
	tr := d.traffic
	n := int64(tr.desiredCount)
	sets := []ecsTaskSet{}
	blue := tr.origTaskSet
	if blue == "" {
		blue = tr.origTaskDef
	}
	sets = append(sets, ecsTaskSet{Identifer: blue, DesiredCount: n, RunningCount: n, Status: "PRIMARY",
		TrafficWeight: 100 - greenWeight, TargetGroup: &targetGroupInfo{Name: tr.origTGName}, TaskSetLabel: "Blue"})
	if tr.replTaskSet != "" {
		sets = append(sets, ecsTaskSet{Identifer: tr.replTaskSet, DesiredCount: n, RunningCount: n, Status: "ACTIVE",
			TrafficWeight: greenWeight, TargetGroup: &targetGroupInfo{Name: tr.replTGName}, TaskSetLabel: "Green"})
	}
	if greenWeight >= 100 && len(sets) == 2 {
		sets[0].Status, sets[1].Status = "ACTIVE", "PRIMARY"
	}
	return sets
}

// runHook invokes one hook function and waits for its reported status.
func (s *Server) runHook(ctx context.Context, d *deployment, event, function string) error {
	s.mu.Lock()
	failMsg, fail, timeout := s.hookFaultLocked(event)
	hookTimeout := s.cfg.HookTimeout
	h := &hookExec{id: newExecutionID(), deploymentID: d.info.DeploymentID, event: event, function: function, done: make(chan string, 1)}
	s.state.hooks[h.id] = h
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		h.completed = true
		s.mu.Unlock()
	}()

	hookFailure := func(code, lifecycleCode, msg string) error {
		return &stepError{code: code, message: msg, diag: &diagnostics{ErrorCode: lifecycleCode, ScriptName: function, Message: msg}}
	}
	switch {
	case fail:
		s.logf(d, "%s hook %s: injected failure", event, function)
		return hookFailure("HOOK_EXECUTION_FAILURE", "ScriptFailed",
			fmt.Sprintf("The deployment failed because the %s lifecycle event hook %s reported Failed: %s", event, function, failMsg))
	case timeout:
		s.logf(d, "%s hook %s: injected timeout, not invoking", event, function)
	default:
		s.logf(d, "%s hook %s: invoking", event, function)
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.invokeHook(ictx, &d.traffic, function, d.info.DeploymentID, h.id)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return hookFailure("INVALID_LAMBDA_FUNCTION", "ScriptMissing",
				fmt.Sprintf("The %s lifecycle event hook could not invoke Lambda function %s: %v", event, function, err))
		}
	}
	t := time.NewTimer(hookTimeout)
	defer t.Stop()
	select {
	case status := <-h.done:
		if status == stFailed {
			return hookFailure("HOOK_EXECUTION_FAILURE", "ScriptFailed",
				fmt.Sprintf("The deployment failed because the %s lifecycle event hook %s reported Failed.", event, function))
		}
		s.logf(d, "%s hook %s: Succeeded", event, function)
		return nil
	case <-t.C:
		return hookFailure("TIMEOUT", "ScriptTimedOut",
			fmt.Sprintf("The %s lifecycle event hook %s did not report a status within %s.", event, function, hookTimeout))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// executeRollback undoes what the triggering deployment changed: listeners back to the
// original target group, the original task set primary again, the replacement removed.
func (s *Server) executeRollback(d *deployment) error {
	if err := pause(d.ctx, s.cfg.StepDelay); err != nil {
		return err
	}
	s.update(d, func() {
		d.info.Status, d.info.StartTime = stInProgress, at(time.Now())
		d.target.Status = stInProgress
		for i := range d.target.LifecycleEvents {
			ev := &d.target.LifecycleEvents[i]
			if ev.LifecycleEventName != evAllowTraffic {
				ev.Status = stSkipped
			}
		}
	})
	s.logf(d, "rolling back deployment %s", d.triggeredBy.info.DeploymentID)
	return s.step(d, evAllowTraffic, func(ctx context.Context) error {
		if err := s.restore(ctx, &d.traffic); err != nil {
			return failf("ECS_UPDATE_ERROR", "roll back deployment %s: %v", d.triggeredBy.info.DeploymentID, err)
		}
		s.update(d, func() { d.target.TaskSetsInfo = s.taskSetsLocked(d, 0)[:1] })
		return nil
	})
}

// complete records a lifecycle's outcome and starts a rollback deployment if one is due.
func (s *Server) complete(d *deployment, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.runCtx.Err() != nil {
		return // Reset or Close: the state this deployment lived in is gone
	}
	now := time.Now()
	d.waiting = ""
	d.target.LastUpdatedAt = at(now)
	d.info.CompleteTime = at(now)
	if err == nil {
		d.info.Status, d.target.Status = stSucceeded, stSucceeded
		s.markGroupLocked(d)
		s.logf(d, "Succeeded")
		return
	}

	var se *stepError
	rollback := false
	switch {
	case d.stop != nil:
		d.info.Status = stStopped
		se = failf("MANUAL_STOP", "The deployment was stopped by a StopDeployment request.")
		rollback = d.stop.rollback
	case errors.Is(err, errReadyTimeout):
		d.info.Status = stStopped
		se = failf("TIMEOUT", "Production traffic was not rerouted within the deployment group's ready wait time (actionOnTimeout STOP_DEPLOYMENT).")
		rollback = true // production traffic never moved: clean up the replacement
	default:
		d.info.Status = stFailed
		if !errors.As(err, &se) {
			se = failf("INTERNAL_ERROR", "%v", err)
		}
		rollback = d.triggeredBy == nil && rollbackOn(d.info.AutoRollbackConfiguration, "DEPLOYMENT_FAILURE")
	}
	d.target.Status = stFailed
	d.info.ErrorInformation = &errorInformation{Code: se.code, Message: se.message}
	for i := range d.target.LifecycleEvents {
		ev := &d.target.LifecycleEvents[i]
		switch ev.Status {
		case stInProgress:
			diag := se.diag
			if diag == nil {
				diag = &diagnostics{ErrorCode: "UnknownError", Message: se.message}
			}
			ev.Status, ev.EndTime, ev.Diagnostics = stFailed, at(now), diag
		case stPending:
			ev.Status = stSkipped
		}
	}
	s.logf(d, "%s: %s", d.info.Status, se.message)
	s.markGroupLocked(d)
	if d.triggeredBy != nil {
		return
	}
	if rollback {
		s.startRollbackLocked(d)
		return
	}
	tr := d.traffic
	msg := "Automatic rollback is not enabled for this event: the deployment is left where it stopped."
	if tr.prodMoved {
		msg += fmt.Sprintf(" Production traffic is on target group %s and the service runs %s.", tr.replTGName, tr.newTaskDef)
	} else if tr.origTGName != "" {
		msg += fmt.Sprintf(" Production traffic is still on target group %s.", tr.origTGName)
	}
	if tr.replTaskSet != "" {
		msg += fmt.Sprintf(" The replacement task set %s was not removed.", tr.replTaskSet)
	}
	d.info.DeploymentStatusMessages = append(d.info.DeploymentStatusMessages, msg)
}

// startRollbackLocked creates the rollback deployment AWS creates for an automatic or
// requested rollback, and links the two through rollbackInfo.
func (s *Server) startRollbackLocked(d *deployment) {
	g := d.group
	if cur, ok := s.state.groups[groupKey(d.info.ApplicationName, d.info.DeploymentGroupName)]; ok {
		g = *cur
	}
	rev := d.info.PreviousRevision
	rd := s.newDeploymentLocked(&g, d.info.DeploymentConfigName, "codeDeployRollback", rev, nil)
	rd.triggeredBy = d
	rd.traffic = d.traffic
	rd.info.PreviousRevision = d.info.Revision
	rd.info.RollbackInfo = &rollbackInfo{RollbackTriggeringDeploymentID: d.info.DeploymentID}
	d.info.RollbackInfo = &rollbackInfo{
		RollbackDeploymentID: rd.info.DeploymentID,
		RollbackMessage:      fmt.Sprintf("Deployment %s is being rolled back by deployment %s.", d.info.DeploymentID, rd.info.DeploymentID),
	}
	s.logf(d, "rollback deployment %s created", rd.info.DeploymentID)
	s.startLocked(rd)
}
