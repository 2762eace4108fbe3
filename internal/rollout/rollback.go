package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// RollbackOptions are the choices of one rollback.
type RollbackOptions struct {
	// Timeout bounds the wait; 0 waits as long as it takes.
	Timeout time.Duration
	// NoWait returns once the rollback is started.
	NoWait bool
	// DryRun says what the rollback would do and changes nothing.
	DryRun bool
}

// RollbackResult says what a rollback did.
type RollbackResult struct {
	// StoppedDeployment is the in-progress deployment stopped with rollback.
	StoppedDeployment string
	// Deployment is the deployment of the previous revision, when none was in progress.
	Deployment *Result
	// TaskDefinition is the revision the service runs (or will run) after the rollback.
	TaskDefinition string
}

// Rollback stops the active deployment with rollback when there is one; otherwise it
// deploys the task definition revision before the one the service runs.
func (d *Deployer) Rollback(ctx context.Context, opts RollbackOptions) (*RollbackResult, error) {
	if err := d.check(RollbackNeeds); err != nil {
		return nil, err
	}
	id, status, err := d.ActiveDeployment(ctx)
	if err != nil {
		return nil, err
	}
	if id != "" {
		return d.stopWithRollback(ctx, id, status, opts)
	}
	current, err := d.service().TaskDefinition(ctx)
	if err != nil {
		return nil, err
	}
	previous, err := d.PreviousRevision(ctx, current)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(d.out(), "No deployment in progress; the service runs %s. Rolling back to %s.\n", current, previous)
	if opts.DryRun {
		return &RollbackResult{TaskDefinition: previous}, nil
	}
	res, err := d.deploy(ctx, previous, "kmdeploy rollback from "+current, opts.NoWait, opts.Timeout)
	return &RollbackResult{Deployment: res, TaskDefinition: previous}, err
}

func (d *Deployer) stopWithRollback(ctx context.Context, id string, status cdtypes.DeploymentStatus, opts RollbackOptions) (*RollbackResult, error) {
	fmt.Fprintf(d.out(), "Deployment %s is %s: stopping it with rollback.\n", id, status)
	res := &RollbackResult{StoppedDeployment: id}
	if opts.DryRun {
		return res, nil
	}
	out, err := d.CodeDeploy.StopDeployment(ctx, &codedeploy.StopDeploymentInput{
		DeploymentId:        aws.String(id),
		AutoRollbackEnabled: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("stop deployment %s: %w", id, err)
	}
	fmt.Fprintf(d.out(), "StopDeployment: %s %s\n", out.Status, aws.ToString(out.StatusMessage))
	if opts.NoWait {
		return res, nil
	}
	_, err = d.Wait(ctx, id, opts.Timeout)
	var failed *DeploymentFailedError
	switch {
	case err == nil:
		// It finished before the stop took effect: the new revision is live, so go on
		// to the previous one like a rollback after success.
		fmt.Fprintf(d.out(), "Deployment %s succeeded before it could be stopped.\n", id)
		return d.Rollback(ctx, opts)
	case errors.As(err, &failed) && failed.Status == cdtypes.DeploymentStatusStopped:
		if failed.Diagnosis != nil {
			res.TaskDefinition = failed.Diagnosis.ServiceTaskDefinition
		}
		fmt.Fprintf(d.out(), "Deployment %s stopped; the service runs %s.\n", id, orUnknown(res.TaskDefinition))
		return res, nil
	default:
		return res, err
	}
}

// PreviousRevision returns the newest active revision of current's family that is
// older than current: the revision before it, skipping deregistered ones.
func (d *Deployer) PreviousRevision(ctx context.Context, current string) (string, error) {
	family, rev, err := splitRevision(current)
	if err != nil {
		return "", err
	}
	var token *string
	for {
		out, err := d.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
			FamilyPrefix: aws.String(family),
			Status:       ecstypes.TaskDefinitionStatusActive,
			Sort:         ecstypes.SortOrderDesc,
			NextToken:    token,
		})
		if err != nil {
			return "", fmt.Errorf("list task definitions of %s: %w", family, err)
		}
		best, bestRev := "", 0
		for _, arn := range out.TaskDefinitionArns {
			f, r, err := splitRevision(arn)
			// FamilyPrefix is a prefix: skip other families that start the same.
			if err != nil || f != family || r >= rev {
				continue
			}
			if r > bestRev {
				best, bestRev = arn, r
			}
		}
		if best != "" {
			return best, nil
		}
		if out.NextToken == nil {
			return "", fmt.Errorf("no active revision of %s older than %d to roll back to", family, rev)
		}
		token = out.NextToken
	}
}

// splitRevision splits "…task-definition/family:rev" or "family:rev".
func splitRevision(td string) (string, int, error) {
	short := td
	if i := strings.LastIndex(td, "task-definition/"); i >= 0 {
		short = td[i+len("task-definition/"):]
	}
	family, revStr, ok := strings.Cut(short, ":")
	rev, err := strconv.Atoi(revStr)
	if !ok || err != nil || family == "" {
		return "", 0, fmt.Errorf("task definition %q has no family:revision", td)
	}
	return family, rev, nil
}
