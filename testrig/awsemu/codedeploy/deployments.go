package codedeploy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/knowmetools/km-release/internal/appspec"
)

func init() {
	handle("CreateDeployment", (*Server).createDeployment)
	handle("GetDeployment", (*Server).getDeployment)
	handle("BatchGetDeployments", (*Server).batchGetDeployments)
	handle("ListDeployments", (*Server).listDeployments)
	handle("StopDeployment", (*Server).stopDeployment)
	handle("ContinueDeployment", (*Server).continueDeployment)
	handle("PutLifecycleEventHookExecutionStatus", (*Server).putLifecycleEventHookExecutionStatus)
	handle("ListDeploymentTargets", (*Server).listDeploymentTargets)
	handle("GetDeploymentTarget", (*Server).getDeploymentTarget)
	handle("BatchGetDeploymentTargets", (*Server).batchGetDeploymentTargets)
}

type createDeploymentInput struct {
	ApplicationName           string            `json:"applicationName"`
	DeploymentGroupName       string            `json:"deploymentGroupName"`
	Revision                  *revisionLocation `json:"revision"`
	DeploymentConfigName      string            `json:"deploymentConfigName"`
	Description               string            `json:"description"`
	AutoRollbackConfiguration *autoRollback     `json:"autoRollbackConfiguration"`
}

func (s *Server) createDeployment(in *createDeploymentInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if in.DeploymentGroupName == "" {
		return nil, invalid("DeploymentGroupNameRequiredException", "The deployment group name must be specified.")
	}
	g, err := s.groupLocked(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	spec, err := revisionSpec(in.Revision)
	if err != nil {
		return nil, err
	}
	cfgName := g.DeploymentConfigName
	if in.DeploymentConfigName != "" {
		c, err := s.configLocked(in.DeploymentConfigName)
		if err != nil {
			return nil, err
		}
		if c.ComputePlatform != "ECS" {
			return nil, invalid("InvalidDeploymentConfigNameException", "The deployment config %s is not an ECS configuration.", c.DeploymentConfigName)
		}
		cfgName = c.DeploymentConfigName
	}
	if active := s.state.activeLocked(in.ApplicationName, in.DeploymentGroupName); active != nil {
		return nil, invalid("DeploymentLimitExceededException", "The Deployment Group '%s' already has an active Deployment '%s'", in.DeploymentGroupName, active.info.DeploymentID)
	}
	rollback := g.AutoRollbackConfiguration
	if in.AutoRollbackConfiguration != nil {
		rollback = in.AutoRollbackConfiguration
	}
	rev := withSha256(*in.Revision)
	d := s.newDeploymentLocked(g, cfgName, "user", &rev, spec)
	d.info.Description = in.Description
	d.info.AutoRollbackConfiguration = rollback
	a.recordRevisionLocked(*in.Revision, g.DeploymentGroupName, in.Description, true)
	s.startLocked(d)
	return map[string]string{"deploymentId": d.info.DeploymentID}, nil
}

// revisionSpec checks a revision and parses its AppSpec the way CodeDeploy does before
// a deployment starts.
func revisionSpec(rev *revisionLocation) (*appspec.AppSpec, *APIError) {
	if rev == nil {
		return nil, invalid("RevisionRequiredException", "The revision must be specified.")
	}
	var content *rawContent
	switch rev.RevisionType {
	case "AppSpecContent":
		content = rev.AppSpecContent
	case "String":
		content = rev.String
	case "S3", "GitHub":
		return nil, invalid("InvalidRevisionException", "Revision type %s is not supported by the CodeDeploy emulation; pass the AppSpec inline with revisionType AppSpecContent.", rev.RevisionType)
	default:
		return nil, invalid("InvalidRevisionException", "Revision type %q is not valid; use AppSpecContent (or String) with the AppSpec content.", rev.RevisionType)
	}
	if content == nil {
		return nil, invalid("InvalidRevisionException", "The %s revision has no content.", rev.RevisionType)
	}
	spec, err := appspec.Parse([]byte(content.Content))
	if err != nil {
		return nil, invalid("InvalidRevisionException", "The AppSpec file is invalid: %v", err)
	}
	return spec, nil
}

func (s *Server) newDeploymentLocked(g *deploymentGroupInfo, cfgName, creator string, rev *revisionLocation, spec *appspec.AppSpec) *deployment {
	now := time.Now()
	bg := *g.BlueGreenDeploymentConfiguration
	lb := *g.LoadBalancerInfo
	style := *g.DeploymentStyle
	d := &deployment{
		info: deploymentInfo{
			ApplicationName:                  g.ApplicationName,
			DeploymentGroupName:              g.DeploymentGroupName,
			DeploymentConfigName:             cfgName,
			DeploymentID:                     newDeploymentID(),
			Revision:                         rev,
			Status:                           stCreated,
			CreateTime:                       at(now),
			Creator:                          creator,
			AutoRollbackConfiguration:        g.AutoRollbackConfiguration,
			DeploymentStyle:                  &style,
			BlueGreenDeploymentConfiguration: &bg,
			LoadBalancerInfo:                 &lb,
			ComputePlatform:                  "ECS",
		},
		group: *g,
		spec:  spec,
		wake:  make(chan struct{}, 1),
	}
	if g.LastSuccessfulDeployment != nil && g.TargetRevision != nil {
		prev := *g.TargetRevision
		d.info.PreviousRevision = &prev
	}
	svc := g.EcsServices[0]
	d.target = ecsTarget{
		DeploymentID:  d.info.DeploymentID,
		TargetID:      svc.ClusterName + ":" + svc.ServiceName,
		TargetArn:     fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", s.cfg.Region, s.cfg.AccountID, svc.ClusterName, svc.ServiceName),
		LastUpdatedAt: at(now),
		Status:        stPending,
	}
	for _, ev := range ecsEvents {
		d.target.LifecycleEvents = append(d.target.LifecycleEvents, lifecycleEvent{LifecycleEventName: ev, Status: stPending})
	}
	s.state.deployments[d.info.DeploymentID] = d
	s.state.order = append(s.state.order, d)
	s.markGroupLocked(d)
	return d
}

// startLocked runs the deployment's lifecycle in the background.
func (s *Server) startLocked(d *deployment) {
	d.ctx, d.cancel = context.WithCancel(s.runCtx)
	s.wg.Add(1)
	go s.run(d)
}

func (s *Server) deploymentLocked(id string) (*deployment, *APIError) {
	if id == "" {
		return nil, invalid("DeploymentIdRequiredException", "At least one deployment ID must be specified.")
	}
	d, ok := s.state.deployments[id]
	if !ok {
		return nil, invalid("DeploymentDoesNotExistException", "The deployment %s could not be found.", id)
	}
	return d, nil
}

// snapshotLocked copies a deployment's info for a response; nested values the runner
// replaces (never mutates) are shared.
func (d *deployment) snapshotLocked() deploymentInfo {
	info := d.info
	info.DeploymentStatusMessages = slices.Clone(info.DeploymentStatusMessages)
	ov := &deploymentOverview{}
	switch d.target.Status {
	case stPending:
		ov.Pending = 1
	case stInProgress:
		ov.InProgress = 1
	case stSucceeded:
		ov.Succeeded = 1
	case stFailed:
		ov.Failed = 1
	case stSkipped:
		ov.Skipped = 1
	case stReady:
		ov.Ready = 1
	}
	info.DeploymentOverview = ov
	return info
}

// targetLocked copies the deployment's one target, which id must name.
func (d *deployment) targetLocked(id string) (*deploymentTarget, *APIError) {
	if id != d.target.TargetID {
		return nil, invalid("DeploymentTargetDoesNotExistException", "The target %q is not part of deployment %s; its target is %s.", id, d.info.DeploymentID, d.target.TargetID)
	}
	t := d.target
	t.LifecycleEvents = slices.Clone(t.LifecycleEvents)
	t.TaskSetsInfo = slices.Clone(t.TaskSetsInfo)
	return &deploymentTarget{DeploymentTargetType: "ECSTarget", EcsTarget: &t}, nil
}

type deploymentIDInput struct {
	DeploymentID string `json:"deploymentId"`
}

func (s *Server) getDeployment(in *deploymentIDInput) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentInfo": d.snapshotLocked()}, nil
}

func (s *Server) batchGetDeployments(in *struct {
	DeploymentIDs []string `json:"deploymentIds"`
}) (any, *APIError) {
	if len(in.DeploymentIDs) > 25 {
		return nil, invalid("BatchLimitExceededException", "At most 25 deployment IDs may be requested at once.")
	}
	out := []deploymentInfo{}
	for _, id := range in.DeploymentIDs {
		if d, ok := s.state.deployments[id]; ok {
			out = append(out, d.snapshotLocked())
		}
	}
	return map[string]any{"deploymentsInfo": out}, nil
}

const pageSize = 100

func (s *Server) listDeployments(in *struct {
	ApplicationName     string   `json:"applicationName"`
	DeploymentGroupName string   `json:"deploymentGroupName"`
	IncludeOnlyStatuses []string `json:"includeOnlyStatuses"`
	CreateTimeRange     *struct {
		Start *float64 `json:"start"`
		End   *float64 `json:"end"`
	} `json:"createTimeRange"`
	NextToken string `json:"nextToken"`
}) (any, *APIError) {
	if in.DeploymentGroupName != "" && in.ApplicationName == "" {
		return nil, invalid("ApplicationNameRequiredException", "The application name must be specified with a deployment group name.")
	}
	if in.ApplicationName != "" {
		if _, err := s.appLocked(in.ApplicationName); err != nil {
			return nil, err
		}
		if in.DeploymentGroupName != "" {
			if _, err := s.groupLocked(in.ApplicationName, in.DeploymentGroupName); err != nil {
				return nil, err
			}
		}
	}
	ids := []string{}
	// Newest first, like the console and CLI show them.
	for _, d := range slices.Backward(s.state.order) {
		i := d.info
		switch {
		case in.ApplicationName != "" && i.ApplicationName != in.ApplicationName,
			in.DeploymentGroupName != "" && i.DeploymentGroupName != in.DeploymentGroupName,
			len(in.IncludeOnlyStatuses) > 0 && !slices.Contains(in.IncludeOnlyStatuses, i.Status):
			continue
		}
		if r := in.CreateTimeRange; r != nil {
			created := float64(time.Time(*i.CreateTime).UnixMilli()) / 1000
			if (r.Start != nil && created < *r.Start) || (r.End != nil && created > *r.End) {
				continue
			}
		}
		ids = append(ids, i.DeploymentID)
	}
	return page("deployments", ids, in.NextToken)
}

// page answers a list operation with the page of ids that token starts, under key, and
// the token of the next page if there is one.
func page(key string, ids []string, token string) (any, *APIError) {
	start := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > len(ids) {
			return nil, invalid("InvalidNextTokenException", "The next token %q is not valid.", token)
		}
		start = n
	}
	end := min(start+pageSize, len(ids))
	out := map[string]any{key: ids[start:end]}
	if end < len(ids) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func (s *Server) stopDeployment(in *struct {
	DeploymentID        string `json:"deploymentId"`
	AutoRollbackEnabled *bool  `json:"autoRollbackEnabled"`
}) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if finished(d.info.Status) {
		return nil, invalid("DeploymentAlreadyCompletedException", "The deployment %s is already completed (%s).", d.info.DeploymentID, d.info.Status)
	}
	if d.stop == nil {
		rollback := rollbackOn(d.info.AutoRollbackConfiguration, "DEPLOYMENT_STOP_ON_REQUEST")
		if in.AutoRollbackEnabled != nil {
			rollback = *in.AutoRollbackEnabled
		}
		d.stop = &stopRequest{rollback: rollback && d.triggeredBy == nil}
		d.cancel()
	}
	return map[string]string{"status": "Pending", "statusMessage": "Stopping Pending. Stopping to deploy the revision in the deployment group."}, nil
}

func rollbackOn(c *autoRollback, event string) bool {
	return c != nil && c.Enabled && slices.Contains(c.Events, event)
}

func (s *Server) continueDeployment(in *struct {
	DeploymentID       string `json:"deploymentId"`
	DeploymentWaitType string `json:"deploymentWaitType"`
}) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	wt := in.DeploymentWaitType
	if wt == "" {
		wt = "READY_WAIT"
	}
	if wt != "READY_WAIT" && wt != "TERMINATION_WAIT" {
		return nil, invalid("InvalidDeploymentWaitTypeException", "The wait type %q is not READY_WAIT or TERMINATION_WAIT.", wt)
	}
	if finished(d.info.Status) {
		return nil, invalid("DeploymentAlreadyCompletedException", "The deployment %s is already completed (%s).", d.info.DeploymentID, d.info.Status)
	}
	if d.waiting == "" {
		return nil, invalid("DeploymentIsNotInReadyStateException", "The deployment %s is not waiting (status %s); ContinueDeployment applies while it waits for traffic rerouting (READY_WAIT) or for the original task set's termination (TERMINATION_WAIT).", d.info.DeploymentID, d.info.Status)
	}
	if d.waiting != wt {
		return nil, invalid("InvalidDeploymentWaitTypeException", "The deployment %s is in %s, not %s.", d.info.DeploymentID, d.waiting, wt)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil, nil
}

func (s *Server) putLifecycleEventHookExecutionStatus(in *struct {
	DeploymentID                  string `json:"deploymentId"`
	LifecycleEventHookExecutionID string `json:"lifecycleEventHookExecutionId"`
	Status                        string `json:"status"`
}) (any, *APIError) {
	if _, err := s.deploymentLocked(in.DeploymentID); err != nil {
		return nil, err
	}
	h, ok := s.state.hooks[in.LifecycleEventHookExecutionID]
	if !ok || h.deploymentID != in.DeploymentID {
		return nil, invalid("InvalidLifecycleEventHookExecutionIdException", "The lifecycle event hook execution ID %q is not valid for deployment %s.", in.LifecycleEventHookExecutionID, in.DeploymentID)
	}
	if in.Status != stSucceeded && in.Status != stFailed {
		return nil, invalid("InvalidLifecycleEventHookExecutionStatusException", "The status %q is not valid; report Succeeded or Failed.", in.Status)
	}
	if h.completed {
		return nil, invalid("LifecycleEventAlreadyCompletedException", "The lifecycle event %s of deployment %s is already completed.", h.event, in.DeploymentID)
	}
	h.completed = true
	h.done <- in.Status // buffered: the runner may have stopped waiting
	return map[string]string{"lifecycleEventHookExecutionId": h.id}, nil
}

type targetFilters struct {
	TargetStatus []string `json:"TargetStatus"`
}

func (s *Server) listDeploymentTargets(in *struct {
	DeploymentID  string        `json:"deploymentId"`
	NextToken     string        `json:"nextToken"`
	TargetFilters targetFilters `json:"targetFilters"`
}) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	if f := in.TargetFilters.TargetStatus; len(f) == 0 || slices.Contains(f, d.target.Status) {
		ids = append(ids, d.target.TargetID)
	}
	return page("targetIds", ids, in.NextToken)
}

func (s *Server) getDeploymentTarget(in *struct {
	DeploymentID string `json:"deploymentId"`
	TargetID     string `json:"targetId"`
}) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	t, err := d.targetLocked(in.TargetID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentTarget": t}, nil
}

func (s *Server) batchGetDeploymentTargets(in *struct {
	DeploymentID string   `json:"deploymentId"`
	TargetIDs    []string `json:"targetIds"`
}) (any, *APIError) {
	d, err := s.deploymentLocked(in.DeploymentID)
	if err != nil {
		return nil, err
	}
	if len(in.TargetIDs) == 0 {
		return nil, invalid("DeploymentTargetIdRequiredException", "At least one target ID must be specified.")
	}
	out := []*deploymentTarget{}
	for _, id := range in.TargetIDs {
		t, err := d.targetLocked(id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return map[string]any{"deploymentTargets": out}, nil
}

// GroupOf names the application and deployment group of a deployment, for the
// emulation's IAM (actions on a deployment are authorised on its group).
func (s *Server) GroupOf(id string) (app, group string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, found := s.state.deployments[id]
	if !found {
		return "", "", false
	}
	return d.info.ApplicationName, d.info.DeploymentGroupName, true
}
