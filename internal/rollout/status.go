package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/knowmetools/km-release/internal/appspec"
)

// statusDeployments is how many recent deployments Status shows.
const statusDeployments = 5

// Status is what the environment's API service runs and how its deployments went.
type Status struct {
	Cluster        string `json:"cluster"`
	Service        string `json:"service"`
	TaskDefinition string `json:"taskDefinition"`
	Image          string `json:"image"`
	// ImageDigest is the digest the running tasks report, else the one the image
	// reference pins; "unknown" when neither says.
	ImageDigest  string             `json:"imageDigest"`
	RunningCount int32              `json:"runningCount"`
	DesiredCount int32              `json:"desiredCount"`
	Deployments  []DeploymentRecord `json:"deployments"`
	// WebVersion is the live web bundle version, "unknown" when it cannot be read.
	WebVersion string `json:"webVersion"`
}

// DeploymentRecord is one past or current deployment of the group.
type DeploymentRecord struct {
	ID             string     `json:"id"`
	Status         string     `json:"status"`
	TaskDefinition string     `json:"taskDefinition,omitempty"`
	Created        *time.Time `json:"created,omitempty"`
	Completed      *time.Time `json:"completed,omitempty"`
	Description    string     `json:"description,omitempty"`
	Error          string     `json:"error,omitempty"`
}

// StatusOptions are optional sources for Status.
type StatusOptions struct {
	// WebVersion reads the live web bundle version ("" when never published).
	WebVersion func(ctx context.Context) (string, error)
}

// Status reports what the service runs, its recent deployments and the web version.
func (d *Deployer) Status(ctx context.Context, opts StatusOptions) (*Status, error) {
	if err := d.checkResources(); err != nil {
		return nil, err
	}
	svc, err := d.describeService(ctx)
	if err != nil {
		return nil, err
	}
	st := &Status{Cluster: d.Resources.Cluster, Service: d.Resources.Service,
		RunningCount: svc.RunningCount, DesiredCount: svc.DesiredCount, ImageDigest: "unknown", WebVersion: "unknown"}
	st.TaskDefinition, err = d.taskDefinitionOf(svc)
	if err != nil {
		return nil, err
	}
	td, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(st.TaskDefinition)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", st.TaskDefinition, err)
	}
	st.Image, _ = ContainerImage(td.TaskDefinition, d.Resources.ContainerName)
	if digest := d.runningDigest(ctx, st.TaskDefinition); digest != "" {
		st.ImageDigest = digest
	} else if _, digest, ok := strings.Cut(st.Image, "@"); ok {
		st.ImageDigest = digest
	}
	st.Deployments, err = d.recentDeployments(ctx)
	if err != nil {
		return nil, err
	}
	if opts.WebVersion != nil {
		if v, err := opts.WebVersion(ctx); err == nil && v != "" {
			st.WebVersion = v
		}
	}
	return st, nil
}

// runningDigest is the image digest a running task of taskDefinition reports for the
// API container ("" when none says).
func (d *Deployer) runningDigest(ctx context.Context, taskDefinition string) string {
	list, err := d.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(d.Resources.Cluster), ServiceName: aws.String(d.Resources.Service)})
	if err != nil || len(list.TaskArns) == 0 {
		return ""
	}
	desc, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(d.Resources.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return ""
	}
	for _, t := range desc.Tasks {
		if !sameTaskDefinition(aws.ToString(t.TaskDefinitionArn), taskDefinition) {
			continue
		}
		for _, c := range t.Containers {
			if aws.ToString(c.Name) == d.Resources.ContainerName && aws.ToString(c.ImageDigest) != "" {
				return aws.ToString(c.ImageDigest)
			}
		}
	}
	return ""
}

func (d *Deployer) recentDeployments(ctx context.Context) ([]DeploymentRecord, error) {
	list, err := d.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName:     aws.String(d.Resources.CodeDeployApp),
		DeploymentGroupName: aws.String(d.Resources.CodeDeployGroup),
	})
	if err != nil {
		return nil, fmt.Errorf("list deployments of %s/%s: %w", d.Resources.CodeDeployApp, d.Resources.CodeDeployGroup, err)
	}
	ids := list.Deployments
	// CodeDeploy lists newest first; a few more than shown guards against ties.
	if len(ids) > 2*statusDeployments {
		ids = ids[:2*statusDeployments]
	}
	var recs []DeploymentRecord
	for _, id := range ids {
		info, err := d.getDeployment(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("describe deployment %s: %w", id, err)
		}
		rec := DeploymentRecord{ID: id, Status: string(info.Status), Created: info.CreateTime,
			Completed: info.CompleteTime, Description: aws.ToString(info.Description)}
		if info.Revision != nil {
			if spec, err := appspec.FromRevision(info.Revision); err == nil {
				rec.TaskDefinition = spec.TaskDefinition()
			}
		}
		if e := info.ErrorInformation; e != nil {
			rec.Error = strings.TrimSpace(aws.ToString(e.Message))
		}
		recs = append(recs, rec)
	}
	sort.SliceStable(recs, func(i, j int) bool {
		return aws.ToTime(recs[i].Created).After(aws.ToTime(recs[j].Created))
	})
	if len(recs) > statusDeployments {
		recs = recs[:statusDeployments]
	}
	return recs, nil
}

// WriteText renders the status for a terminal.
func (s *Status) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Service         %s/%s (%d/%d running)\n", s.Cluster, s.Service, s.RunningCount, s.DesiredCount)
	fmt.Fprintf(&b, "Task definition %s\n", s.TaskDefinition)
	fmt.Fprintf(&b, "Image           %s\n", s.Image)
	fmt.Fprintf(&b, "Image digest    %s\n", s.ImageDigest)
	fmt.Fprintf(&b, "Web version     %s\n", s.WebVersion)
	if len(s.Deployments) == 0 {
		b.WriteString("Deployments     none\n")
	} else {
		b.WriteString("Deployments\n")
	}
	for _, dep := range s.Deployments {
		when := ""
		if dep.Created != nil {
			when = dep.Created.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "  %s  %-10s %s  %s", dep.ID, dep.Status, when, dep.TaskDefinition)
		if dep.Error != "" {
			fmt.Fprintf(&b, "  (%s)", dep.Error)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON renders the status as indented JSON.
func (s *Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
