package rollout

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/internal/ecstask"

	"github.com/knowmetools/km-release/internal/servicestatus"
)

// Limits of a diagnosis, so a crash loop does not flood the terminal.
const (
	maxDiagnosedTasks = 5
	logTailLines      = 20
)

// Diagnosis explains why a deployment did not succeed.
type Diagnosis struct {
	DeploymentID string
	Status       cdtypes.DeploymentStatus
	// TaskDefinition is the revision the deployment tried to roll out.
	TaskDefinition string
	ErrorCode      string
	ErrorMessage   string
	FailedEvents   []EventFailure
	StoppedTasks   []StoppedTask
	// RollbackDeploymentID is CodeDeploy's rollback deployment, when it made one.
	RollbackDeploymentID string
	RollbackStatus       cdtypes.DeploymentStatus
	RollbackMessage      string
	// ServiceTaskDefinition is what the service runs after the failure.
	ServiceTaskDefinition string
	// Problems are what could not be found out (and why).
	Problems []string
}

// EventFailure is a lifecycle event that failed, with CodeDeploy's diagnostics.
type EventFailure struct {
	Event     string
	Status    cdtypes.LifecycleEventStatus
	ErrorCode string
	Message   string
	LogTail   string
}

// StoppedTask is a task of the new revision that stopped, with its last log lines.
type StoppedTask struct {
	*ecstask.Result
	LogLocation string
	Logs        []string
	LogError    string
}

// RolledBack reports whether the service is back on (or never left) its previous
// revision, as far as the diagnosis could tell.
func (g *Diagnosis) RolledBack() bool {
	if g.RollbackDeploymentID != "" {
		return true
	}
	return g.ServiceTaskDefinition != "" && g.TaskDefinition != "" && !servicestatus.SameTaskDefinition(g.ServiceTaskDefinition, g.TaskDefinition)
}

// Summary is the one-line cause.
func (g *Diagnosis) Summary() string {
	var parts []string
	for _, e := range g.FailedEvents {
		parts = append(parts, fmt.Sprintf("lifecycle event %s %s: %s", e.Event, strings.ToLower(string(e.Status)), orUnknown(e.Message)))
	}
	if len(parts) == 0 && g.ErrorMessage != "" {
		parts = append(parts, strings.TrimSpace(g.ErrorMessage))
	}
	if g.RolledBack() {
		parts = append(parts, "rolled back")
	} else if g.ServiceTaskDefinition != "" {
		parts = append(parts, "NOT rolled back")
	}
	return strings.Join(parts, "; ")
}

// Format renders the whole diagnosis for a terminal.
func (g *Diagnosis) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Deployment %s %s.\n", g.DeploymentID, g.Status)
	if g.ErrorMessage != "" || g.ErrorCode != "" {
		fmt.Fprintf(&b, "  CodeDeploy error %s: %s\n", orUnknown(g.ErrorCode), strings.TrimSpace(g.ErrorMessage))
	}
	for _, e := range g.FailedEvents {
		fmt.Fprintf(&b, "  Lifecycle event %s %s", e.Event, e.Status)
		if e.ErrorCode != "" {
			fmt.Fprintf(&b, " (%s)", e.ErrorCode)
		}
		if e.Message == g.ErrorMessage && e.Message != "" {
			b.WriteString(" (the error above)\n")
		} else {
			fmt.Fprintf(&b, ": %s\n", orUnknown(e.Message))
		}
		if tail := strings.TrimSpace(e.LogTail); tail != "" {
			for _, l := range strings.Split(tail, "\n") {
				fmt.Fprintf(&b, "    | %s\n", l)
			}
		}
	}
	for _, t := range g.StoppedTasks {
		fmt.Fprintf(&b, "  Task %s stopped", ecstask.TaskID(t.TaskArn))
		if t.StopCode != "" {
			fmt.Fprintf(&b, " (%s)", t.StopCode)
		}
		fmt.Fprintf(&b, ": %s\n", orUnknown(t.StoppedReason))
		for _, c := range t.Containers {
			code := "no exit code (never ran)"
			if c.ExitCode != nil {
				code = fmt.Sprintf("exit code %d", *c.ExitCode)
			}
			fmt.Fprintf(&b, "    container %s: %s", c.Name, code)
			if c.Reason != "" {
				fmt.Fprintf(&b, ", %s", c.Reason)
			}
			b.WriteString("\n")
		}
		switch {
		case t.LogError != "":
			fmt.Fprintf(&b, "    logs: %s\n", t.LogError)
		case len(t.Logs) > 0:
			fmt.Fprintf(&b, "    last log lines (%s):\n", t.LogLocation)
			for _, l := range t.Logs {
				fmt.Fprintf(&b, "    | %s\n", l)
			}
		case t.LogLocation != "":
			fmt.Fprintf(&b, "    no log lines in %s\n", t.LogLocation)
		}
	}
	switch {
	case g.RollbackDeploymentID != "":
		fmt.Fprintf(&b, "  CodeDeploy rolled back with deployment %s (%s).\n", g.RollbackDeploymentID, orUnknown(string(g.RollbackStatus)))
	case g.RollbackMessage != "":
		fmt.Fprintf(&b, "  Rollback: %s\n", g.RollbackMessage)
	}
	if g.ServiceTaskDefinition != "" {
		if g.RolledBack() {
			fmt.Fprintf(&b, "  The service still runs %s: traffic stayed on the previous revision.\n", g.ServiceTaskDefinition)
		} else {
			fmt.Fprintf(&b, "  The service runs %s, the failed revision: it was NOT rolled back; run `kmdeploy rollback`.\n", g.ServiceTaskDefinition)
		}
	}
	for _, p := range g.Problems {
		fmt.Fprintf(&b, "  (diagnosis incomplete: %s)\n", p)
	}
	return b.String()
}

// Diagnose gathers why the deployment ended as it did. It never fails: what it cannot
// find out goes into Problems.
func (d *Deployer) Diagnose(ctx context.Context, info *cdtypes.DeploymentInfo) *Diagnosis {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	g := &Diagnosis{DeploymentID: aws.ToString(info.DeploymentId), Status: info.Status}
	if e := info.ErrorInformation; e != nil {
		g.ErrorCode, g.ErrorMessage = string(e.Code), aws.ToString(e.Message)
	}
	if r := info.RollbackInfo; r != nil {
		g.RollbackDeploymentID, g.RollbackMessage = aws.ToString(r.RollbackDeploymentId), aws.ToString(r.RollbackMessage)
		if g.RollbackDeploymentID != "" {
			if rb, err := servicestatus.Deployment(ctx, d.CodeDeploy, g.RollbackDeploymentID); err == nil {
				g.RollbackStatus = rb.Status
			}
		}
	}
	if info.Revision != nil {
		if spec, err := appspec.FromRevision(info.Revision); err == nil {
			g.TaskDefinition = spec.TaskDefinition()
		} else {
			g.Problems = append(g.Problems, fmt.Sprintf("read the deployment's AppSpec: %v", err))
		}
	}
	if target, err := d.ecsTarget(ctx, g.DeploymentID); err != nil {
		g.Problems = append(g.Problems, fmt.Sprintf("lifecycle events: %v", err))
	} else if target != nil {
		for _, ev := range target.LifecycleEvents {
			if ev.Status != cdtypes.LifecycleEventStatusFailed {
				continue
			}
			f := EventFailure{Event: aws.ToString(ev.LifecycleEventName), Status: ev.Status}
			if dg := ev.Diagnostics; dg != nil {
				f.ErrorCode, f.Message, f.LogTail = string(dg.ErrorCode), aws.ToString(dg.Message), aws.ToString(dg.LogTail)
			}
			g.FailedEvents = append(g.FailedEvents, f)
		}
	}
	if g.TaskDefinition != "" {
		var since time.Time
		if info.CreateTime != nil {
			since = info.CreateTime.Add(-time.Minute)
		}
		tasks, problems := d.stoppedTasks(ctx, g.TaskDefinition, since)
		g.StoppedTasks, g.Problems = tasks, append(g.Problems, problems...)
	}
	if svc, err := d.service().TaskDefinition(ctx); err != nil {
		g.Problems = append(g.Problems, err.Error())
	} else {
		g.ServiceTaskDefinition = svc
	}
	return g
}

// stoppedTasks finds the stopped tasks of taskDefinition created since the deployment
// began (replacement tasks and the migration task alike), with their last log lines.
func (d *Deployer) stoppedTasks(ctx context.Context, taskDefinition string, since time.Time) ([]StoppedTask, []string) {
	var problems []string
	tdOut, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(taskDefinition)})
	if err != nil {
		return nil, []string{fmt.Sprintf("describe %s: %v", taskDefinition, err)}
	}
	td := tdOut.TaskDefinition
	list, err := d.ECS.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster:       aws.String(d.Resources.Cluster),
		Family:        td.Family,
		DesiredStatus: ecstypes.DesiredStatusStopped,
	})
	if err != nil {
		return nil, []string{fmt.Sprintf("list stopped tasks of %s: %v", aws.ToString(td.Family), err)}
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	arns := list.TaskArns
	if len(arns) > 100 {
		arns = arns[:100]
	}
	desc, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(d.Resources.Cluster), Tasks: arns})
	if err != nil {
		return nil, []string{fmt.Sprintf("describe stopped tasks: %v", err)}
	}
	var tasks []ecstypes.Task
	for _, t := range desc.Tasks {
		if !servicestatus.SameTaskDefinition(aws.ToString(t.TaskDefinitionArn), aws.ToString(td.TaskDefinitionArn)) {
			continue
		}
		if !since.IsZero() && t.CreatedAt != nil && t.CreatedAt.Before(since) {
			continue
		}
		tasks = append(tasks, t)
	}
	sort.Slice(tasks, func(i, j int) bool {
		return aws.ToTime(tasks[i].CreatedAt).After(aws.ToTime(tasks[j].CreatedAt))
	})
	if len(tasks) > maxDiagnosedTasks {
		tasks = tasks[:maxDiagnosedTasks]
	}
	var out []StoppedTask
	for _, t := range tasks {
		st := StoppedTask{Result: ecstask.ResultOf(t, d.Resources.ContainerName)}
		loc, lines, err := ecstask.LogTail(ctx, d.Logs, td, d.Resources.ContainerName, aws.ToString(t.TaskArn), logTailLines)
		if err != nil {
			st.LogError = err.Error()
		}
		if loc.Group != "" {
			st.LogLocation = loc.String()
		}
		st.Logs = lines
		out = append(out, st)
	}
	return out, problems
}
