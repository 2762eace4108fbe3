package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/knowmetools/km-release/internal/servicestatus"
)

// activeStatuses are the statuses of a deployment that still holds the group.
var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusBaking, cdtypes.DeploymentStatusReady,
}

// ActiveDeployment returns the newest deployment of the group that has not ended, or
// "" when there is none.
func (d *Deployer) ActiveDeployment(ctx context.Context) (string, cdtypes.DeploymentStatus, error) {
	out, err := d.CodeDeploy.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{
		ApplicationName:     aws.String(d.Resources.CodeDeployApp),
		DeploymentGroupName: aws.String(d.Resources.CodeDeployGroup),
		IncludeOnlyStatuses: activeStatuses,
	})
	if err != nil {
		return "", "", fmt.Errorf("list active deployments of %s/%s: %w", d.Resources.CodeDeployApp, d.Resources.CodeDeployGroup, err)
	}
	if len(out.Deployments) == 0 {
		return "", "", nil
	}
	// ListDeployments has no documented order; the newest is the one to follow.
	var newest string
	var newestInfo *cdtypes.DeploymentInfo
	for _, id := range out.Deployments {
		info, err := servicestatus.Deployment(ctx, d.CodeDeploy, id)
		if err != nil {
			return "", "", fmt.Errorf("describe deployment %s: %w", id, err)
		}
		if terminal(info.Status) {
			continue
		}
		if newestInfo == nil || (info.CreateTime != nil && newestInfo.CreateTime != nil && info.CreateTime.After(*newestInfo.CreateTime)) {
			newest, newestInfo = id, info
		}
	}
	if newestInfo == nil {
		return "", "", nil
	}
	return newest, newestInfo.Status, nil
}

// checkActive refuses when a deployment is active, or waits for it with waitForActive.
func (d *Deployer) checkActive(ctx context.Context, waitForActive bool, timeout time.Duration) error {
	for {
		id, status, err := d.ActiveDeployment(ctx)
		if err != nil {
			return err
		}
		if id == "" {
			return nil
		}
		if !waitForActive {
			return &ActiveDeploymentError{ID: id, Status: status, Group: d.Resources.CodeDeployGroup}
		}
		fmt.Fprintf(d.out(), "Waiting for the active deployment %s to end first\n", id)
		if _, err := d.Wait(ctx, id, timeout); err != nil {
			var failed *DeploymentFailedError
			if !errors.As(err, &failed) {
				return err
			}
			// Its failure is not ours: the group is free again, go on.
		}
	}
}
