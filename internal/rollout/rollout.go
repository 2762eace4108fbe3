// Package rollout ships a new API image to the ECS service through a CodeDeploy
// blue/green deployment: it derives the new task definition revision, creates the
// deployment with an AppSpec, follows it with live progress, explains failures, and
// rolls back. It also reports what the service runs (Status) and runs one-off tasks.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/knowmetools/km-release/internal/appspec"
	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/internal/imageref"
	"github.com/knowmetools/km-release/internal/servicestatus"
)

// ECSAPI is the part of the ECS client a Deployer uses.
type ECSAPI interface {
	servicestatus.ECSAPI
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	ListTaskDefinitions(context.Context, *ecs.ListTaskDefinitionsInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error)
}

// CodeDeployAPI is the part of the CodeDeploy client a Deployer uses.
type CodeDeployAPI interface {
	servicestatus.CodeDeployAPI
	CreateDeployment(context.Context, *codedeploy.CreateDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.CreateDeploymentOutput, error)
	StopDeployment(context.Context, *codedeploy.StopDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.StopDeploymentOutput, error)
	ListDeploymentTargets(context.Context, *codedeploy.ListDeploymentTargetsInput, ...func(*codedeploy.Options)) (*codedeploy.ListDeploymentTargetsOutput, error)
	GetDeploymentTarget(context.Context, *codedeploy.GetDeploymentTargetInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentTargetOutput, error)
}

// ELBAPI is the part of the ELBv2 client a Deployer uses (target health, for progress).
type ELBAPI interface {
	DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Clients are the AWS clients a Deployer uses.
type Clients struct {
	ECS        ECSAPI
	CodeDeploy CodeDeployAPI
	Logs       ecstask.LogsAPI
	ECR        imageref.TokenAPI
	ELB        ELBAPI
}

// NewClients builds every client from one aws.Config, so AWS_ENDPOINT_URL and the
// default credential chain apply to all of them.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		ECS:        ecs.NewFromConfig(cfg),
		CodeDeploy: codedeploy.NewFromConfig(cfg),
		Logs:       cloudwatchlogs.NewFromConfig(cfg),
		ECR:        ecr.NewFromConfig(cfg),
		ELB:        elbv2.NewFromConfig(cfg),
	}
}

// The resource names each operation reads, declared once: the command's
// configuration check and the operation's own check both read these.
var (
	// WaitNeeds: following a deployment and explaining its failure (the group finds
	// the active deployment when no ID is given).
	WaitNeeds = config.Needs{Required: []config.Field{config.Cluster, config.Service, config.ContainerName, config.CodeDeployApp, config.CodeDeployGroup},
		Optional: []config.Field{config.TargetGroupBlue, config.TargetGroupGreen}}
	// DeployNeeds: creating a deployment (an AppSpec names the container and its port,
	// and the migration hook when the environment has one), then following it.
	DeployNeeds = WaitNeeds.Plus(config.Needs{Required: []config.Field{config.ContainerPort},
		Optional: []config.Field{config.MigrateFunction, config.MigrationHookEvent}})
	// RolloutNeeds: a deployment of a new revision derived from Terraform's.
	RolloutNeeds = DeployNeeds.Plus(config.Needs{Required: []config.Field{config.TaskDefinition}})
	// RollbackNeeds: stopping the active deployment or redeploying the previous revision.
	RollbackNeeds = DeployNeeds
)

// Deployer rolls out one environment's API service.
type Deployer struct {
	Clients
	// Resources name the environment's service, CodeDeploy group and hooks (the
	// *Needs variables say which each operation reads).
	Resources *config.Resources
	// Out receives progress and diagnostics; nil discards them.
	Out io.Writer
	// Poll tunes how deployments are followed; zero values take the defaults.
	Poll PollSettings
}

// service is the environment's API service, which says what runs now.
func (d *Deployer) service() *servicestatus.Service {
	return &servicestatus.Service{ECS: d.ECS, CodeDeploy: d.CodeDeploy, Resources: d.Resources}
}

func (d *Deployer) out() io.Writer {
	if d.Out == nil {
		return io.Discard
	}
	return d.Out
}

// Options are the choices of one rollout.
type Options struct {
	// Image is the new API image, pinned by digest unless AllowTag.
	Image string
	// AllowTag accepts a tag; it is resolved to a digest through the registry when the
	// registry answers, and used as is (with a warning) otherwise.
	AllowTag bool
	// DryRun prints the task definition diff and the AppSpec, and changes nothing.
	DryRun bool
	// WaitForActive queues behind a deployment already active for the group instead
	// of refusing.
	WaitForActive bool
	// NoWait returns once the deployment is created.
	NoWait bool
	// Timeout bounds the wait for the deployment's end; 0 waits as long as it takes.
	// When it expires the deployment keeps running in AWS.
	Timeout time.Duration
}

// Result describes a deployment the Deployer created or followed.
type Result struct {
	DeploymentID   string
	TaskDefinition string // ARN of the revision deployed
	Image          string
	Status         cdtypes.DeploymentStatus
	// Detected is when the waiter saw the final status; CompleteTime is when
	// CodeDeploy says the deployment ended. Their difference is the detection latency.
	Detected     time.Time
	CompleteTime time.Time
	DryRun       bool
}

// Plan is what a rollout would do: the task definition the service runs now, the
// Terraform-managed revision the new one is derived from, and the new registration.
type Plan struct {
	Current     *ecstypes.TaskDefinition
	CurrentTags []ecstypes.Tag
	// Base is the revision Terraform registered (Resources.TaskDefinition): the new
	// revision is a copy of it with only the image replaced, so Terraform's changes to
	// environment, secrets, size or roles reach the service with the next rollout.
	Base     *ecstypes.TaskDefinition
	Register *ecs.RegisterTaskDefinitionInput
	Changes  []Change
	Image    imageref.Ref
	Warnings []string
}

// Rollout registers the new task definition revision, creates the deployment and,
// unless opts.NoWait, waits for its end. A failed deployment returns a
// *DeploymentFailedError that carries the diagnosis.
func (d *Deployer) Rollout(ctx context.Context, opts Options) (*Result, error) {
	if err := d.check(RolloutNeeds); err != nil {
		return nil, err
	}
	plan, err := d.Plan(ctx, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(d.out(), "warning:", w)
	}
	fmt.Fprintf(d.out(), "New revision of %s (Terraform's), container %s; changes against %s (serving now):\n%s",
		aws.ToString(plan.Base.TaskDefinitionArn), d.Resources.ContainerName, aws.ToString(plan.Current.TaskDefinitionArn), FormatChanges(plan.Changes))
	if opts.DryRun {
		spec, err := d.AppSpec(aws.ToString(plan.Register.Family) + ":<new revision>")
		if err != nil {
			return nil, err
		}
		body, err := spec.Render(appspec.YAML)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(d.out(), "AppSpec:\n%s", body)
		if id, status, err := d.ActiveDeployment(ctx); err == nil && id != "" {
			fmt.Fprintf(d.out(), "Note: deployment %s is %s; a rollout now would be refused (or wait with --wait-for-active).\n", id, status)
		}
		fmt.Fprintln(d.out(), "Dry run: nothing registered, no deployment created.")
		return &Result{Image: plan.Image.String(), DryRun: true}, nil
	}
	if err := d.checkActive(ctx, opts.WaitForActive, opts.Timeout); err != nil {
		return nil, err
	}
	reg, err := d.ECS.RegisterTaskDefinition(ctx, plan.Register)
	if err != nil {
		return nil, fmt.Errorf("register task definition %s: %w", aws.ToString(plan.Register.Family), err)
	}
	newARN := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	fmt.Fprintf(d.out(), "Registered %s\n", newARN)
	res, err := d.deploy(ctx, newARN, fmt.Sprintf("kmdeploy rollout %s", plan.Image), opts.NoWait, opts.Timeout)
	if res != nil {
		res.Image = plan.Image.String()
	}
	return res, err
}

// registryTimeout bounds the registry lookups of a rollout's image.
const registryTimeout = 30 * time.Second

// Plan resolves the image and derives the new task definition without changing anything.
func (d *Deployer) Plan(ctx context.Context, opts Options) (*Plan, error) {
	if strings.TrimSpace(opts.Image) == "" {
		return nil, &ConfigError{Err: errors.New("no image given: pass --image REGISTRY/REPOSITORY@sha256:DIGEST")}
	}
	ref, err := imageref.Parse(opts.Image)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	plan := &Plan{Image: ref}
	resolver := imageref.Resolver{ECR: d.ECR}
	// A registry that accepts the connection but never answers must not hang the
	// rollout: the check is advisory, so after the timeout it becomes a warning.
	regCtx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	if ref.Pinned() {
		// A mistyped digest would otherwise only show as CannotPullContainerError
		// minutes into the deployment.
		if err := resolver.Check(regCtx, ref); errors.Is(err, imageref.ErrImageNotFound) {
			return nil, &ConfigError{Err: err}
		} else if err != nil {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("could not verify the image exists: %v", err))
		}
	} else {
		if !opts.AllowTag {
			return nil, &ConfigError{Err: fmt.Errorf("%w: %s; pass REPOSITORY@sha256:DIGEST, or --allow-tag to resolve the tag through the registry", imageref.ErrNotPinned, opts.Image)}
		}
		pinned, err := resolver.Resolve(regCtx, ref)
		if err != nil {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("deploying tag %s unpinned: %v", ref, err))
		} else {
			fmt.Fprintf(d.out(), "Resolved %s to %s\n", ref, pinned)
			plan.Image = pinned
		}
	}
	serving, err := d.service().TaskDefinition(ctx)
	if err != nil {
		return nil, err
	}
	if plan.Current, plan.CurrentTags, err = d.describeTaskDefinition(ctx, serving); err != nil {
		return nil, err
	}
	base, baseTags := plan.Current, plan.CurrentTags
	if d.Resources.TaskDefinition != serving {
		if base, baseTags, err = d.describeTaskDefinition(ctx, d.Resources.TaskDefinition); err != nil {
			return nil, err
		}
	}
	plan.Base = base
	plan.Register, err = DeriveTaskDefinition(base, baseTags, d.Resources.ContainerName, plan.Image.String())
	if err != nil {
		return nil, err
	}
	plan.Changes, err = DiffTaskDefinition(plan.Current, plan.CurrentTags, plan.Register)
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// AppSpec is the AppSpec of a deployment of taskDefinition to the service, with the
// migration hook where the infrastructure puts it.
func (d *Deployer) AppSpec(taskDefinition string) (*appspec.AppSpec, error) {
	var hooks []appspec.Hook
	if d.Resources.MigrateFunction != "" {
		event := d.Resources.MigrationHookEvent
		if event == "" {
			event = appspec.BeforeInstall
		}
		hooks = append(hooks, appspec.Hook{Event: event, Function: d.Resources.MigrateFunction})
	}
	spec, err := appspec.New(appspec.ECSService{
		TaskDefinition: taskDefinition,
		ContainerName:  d.Resources.ContainerName,
		ContainerPort:  d.Resources.ContainerPort,
		Hooks:          hooks,
	})
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("build AppSpec: %w", err)}
	}
	return spec, nil
}

// deploy creates a deployment of taskDefinition and follows it unless noWait.
func (d *Deployer) deploy(ctx context.Context, taskDefinition, description string, noWait bool, timeout time.Duration) (*Result, error) {
	spec, err := d.AppSpec(taskDefinition)
	if err != nil {
		return nil, err
	}
	rev, err := spec.Revision(appspec.YAML)
	if err != nil {
		return nil, err
	}
	out, err := d.CodeDeploy.CreateDeployment(ctx, &codedeploy.CreateDeploymentInput{
		ApplicationName:     aws.String(d.Resources.CodeDeployApp),
		DeploymentGroupName: aws.String(d.Resources.CodeDeployGroup),
		Revision:            rev,
		Description:         aws.String(description),
	})
	if err != nil {
		var limit *cdtypes.DeploymentLimitExceededException
		if errors.As(err, &limit) {
			// Another rollout won the race between our check and CreateDeployment.
			id, _, _ := d.ActiveDeployment(ctx)
			return nil, &ActiveDeploymentError{ID: id, Group: d.Resources.CodeDeployGroup}
		}
		return nil, fmt.Errorf("create deployment in %s/%s: %w", d.Resources.CodeDeployApp, d.Resources.CodeDeployGroup, err)
	}
	id := aws.ToString(out.DeploymentId)
	fmt.Fprintf(d.out(), "Created deployment %s of %s\n", id, taskDefinition)
	res := &Result{DeploymentID: id, TaskDefinition: taskDefinition}
	if noWait {
		fmt.Fprintf(d.out(), "Not waiting; follow it with: kmdeploy wait %s\n", id)
		return res, nil
	}
	waited, err := d.Wait(ctx, id, timeout)
	if waited != nil {
		waited.TaskDefinition = taskDefinition
		return waited, err
	}
	return res, err
}

// describeTaskDefinition describes a task definition revision, with its tags.
func (d *Deployer) describeTaskDefinition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, []ecstypes.Tag, error) {
	out, err := d.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	return out.TaskDefinition, out.Tags, nil
}

// check says which of the operation's required names the resources lack.
func (d *Deployer) check(n config.Needs) error {
	if d.Resources == nil {
		return &ConfigError{Err: errors.New("no environment resources configured")}
	}
	if err := d.Resources.MissingError(n); err != nil {
		return &ConfigError{Err: err}
	}
	return nil
}
