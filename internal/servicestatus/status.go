// Package servicestatus says what an environment's API service runs: the task
// definition and image serving now, the running tasks' digest, the recent CodeDeploy
// deployments and the live web version (kmdeploy status). Rollouts and one-off tasks
// ask it which task definition the service runs.
package servicestatus

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

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/internal/config"
)

// ECSAPI is the part of the ECS client this package uses.
type ECSAPI interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// CodeDeployAPI is the part of the CodeDeploy client this package uses.
type CodeDeployAPI interface {
	ListDeployments(context.Context, *codedeploy.ListDeploymentsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentsOutput, error)
	GetDeployment(context.Context, *codedeploy.GetDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
}

var (
	_ ECSAPI        = (*ecs.Client)(nil)
	_ CodeDeployAPI = (*codedeploy.Client)(nil)
)

// Needs are the names Status reads; the web version is shown when the bucket is known.
var Needs = config.Needs{
	Required: []config.Field{config.Cluster, config.Service, config.ContainerName, config.CodeDeployApp, config.CodeDeployGroup},
	Optional: []config.Field{config.WebBucket},
}

// ServiceNeeds are the names TaskDefinition reads.
var ServiceNeeds = config.Needs{Required: []config.Field{config.Cluster, config.Service}}

// Service is one environment's API service.
type Service struct {
	ECS        ECSAPI
	CodeDeploy CodeDeployAPI // for Status only
	Resources  *config.Resources
}

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
	// Unread says why a part shown as "unknown" could not be read (e.g. access denied):
	// status still answers, without hiding what it could not see.
	Unread []string `json:"unread,omitempty"`
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
func (d *Service) Status(ctx context.Context, opts StatusOptions) (*Status, error) {
	if err := d.Resources.MissingError(Needs); err != nil {
		return nil, err
	}
	svc, err := d.describe(ctx)
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
	digest, err := d.runningDigest(ctx, st.TaskDefinition)
	if err != nil {
		st.Unread = append(st.Unread, "the running tasks' image digest: "+err.Error())
	}
	if digest != "" {
		st.ImageDigest = digest
	} else if _, digest, ok := strings.Cut(st.Image, "@"); ok {
		st.ImageDigest = digest
	}
	st.Deployments, err = d.recentDeployments(ctx)
	if err != nil {
		return nil, err
	}
	if opts.WebVersion != nil {
		v, err := opts.WebVersion(ctx)
		switch {
		case err != nil:
			st.Unread = append(st.Unread, "the web version: "+err.Error())
		case v != "":
			st.WebVersion = v
		}
	}
	return st, nil
}

// runningDigest is the image digest a running task of taskDefinition reports for the
// API container ("" when none says, or the tasks cannot be read: the error says why).
func (d *Service) runningDigest(ctx context.Context, taskDefinition string) (string, error) {
	list, err := d.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(d.Resources.Cluster), ServiceName: aws.String(d.Resources.Service)})
	if err != nil {
		return "", fmt.Errorf("list the service's tasks: %w", err)
	}
	if len(list.TaskArns) == 0 {
		return "", nil
	}
	desc, err := d.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(d.Resources.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return "", fmt.Errorf("describe the service's tasks: %w", err)
	}
	for _, t := range desc.Tasks {
		if !SameTaskDefinition(aws.ToString(t.TaskDefinitionArn), taskDefinition) {
			continue
		}
		for _, c := range t.Containers {
			if aws.ToString(c.Name) == d.Resources.ContainerName && aws.ToString(c.ImageDigest) != "" {
				return aws.ToString(c.ImageDigest), nil
			}
		}
	}
	return "", nil
}

func (d *Service) recentDeployments(ctx context.Context) ([]DeploymentRecord, error) {
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
		info, err := Deployment(ctx, d.CodeDeploy, id)
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
	for _, u := range s.Unread {
		fmt.Fprintf(&b, "Could not read  %s\n", u)
	}
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

// TaskDefinition returns the ARN of the task definition the service runs: the primary
// task set's for a CODE_DEPLOY service, the service's otherwise.
func (d *Service) TaskDefinition(ctx context.Context) (string, error) {
	if err := d.Resources.MissingError(ServiceNeeds); err != nil {
		return "", err
	}
	svc, err := d.describe(ctx)
	if err != nil {
		return "", err
	}
	return d.taskDefinitionOf(svc)
}

// taskDefinitionOf is TaskDefinition for a service already described.
func (d *Service) taskDefinitionOf(svc *ecstypes.Service) (string, error) {
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" && ts.TaskDefinition != nil {
			return aws.ToString(ts.TaskDefinition), nil
		}
	}
	if svc.TaskDefinition == nil {
		return "", fmt.Errorf("service %s in cluster %s reports no task definition", d.Resources.Service, d.Resources.Cluster)
	}
	return aws.ToString(svc.TaskDefinition), nil
}

func (d *Service) describe(ctx context.Context) (*ecstypes.Service, error) {
	out, err := d.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(d.Resources.Cluster),
		Services: []string{d.Resources.Service},
	})
	if err != nil {
		return nil, fmt.Errorf("describe service %s in cluster %s: %w", d.Resources.Service, d.Resources.Cluster, err)
	}
	for _, f := range out.Failures {
		return nil, fmt.Errorf("service %s in cluster %s: %s %s (check the cluster_name and service_name outputs)",
			d.Resources.Service, d.Resources.Cluster, aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	if len(out.Services) == 0 {
		return nil, fmt.Errorf("service %s not found in cluster %s", d.Resources.Service, d.Resources.Cluster)
	}
	return &out.Services[0], nil
}

// Deployment describes one CodeDeploy deployment.
func Deployment(ctx context.Context, cd CodeDeployAPI, id string) (*cdtypes.DeploymentInfo, error) {
	out, err := cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		return nil, err
	}
	if out.DeploymentInfo == nil {
		return nil, fmt.Errorf("deployment %s: empty answer from CodeDeploy", id)
	}
	return out.DeploymentInfo, nil
}

// ContainerImage returns the image of the named container of td.
func ContainerImage(td *ecstypes.TaskDefinition, container string) (string, bool) {
	if td == nil {
		return "", false
	}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.Image), true
		}
	}
	return "", false
}

// SameTaskDefinition compares task definitions given as ARNs or family:revision.
func SameTaskDefinition(a, b string) bool {
	short := func(s string) string {
		if i := strings.LastIndex(s, "task-definition/"); i >= 0 {
			return s[i+len("task-definition/"):]
		}
		return s
	}
	return short(a) == short(b)
}
