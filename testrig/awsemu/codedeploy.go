package awsemu

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
	"github.com/knowmetools/km-release/testrig/awsemu/iampolicy"
)

// newCodeDeploy mounts the CodeDeploy ECS blue/green emulation: it changes services and
// listeners in moto directly and invokes hook Lambdas through the front end, so the
// product's in-process handlers run.
func newCodeDeploy(e *Emulator) *codedeploy.Server {
	return codedeploy.New(codedeploy.Config{
		Backend:     e.backend,
		Front:       e.AWSConfig(),
		AccountID:   AccountID,
		Region:      DefaultRegion,
		HookTimeout: e.opts.HookTimeout,
		StepDelay:   e.opts.DeploymentStepDelay,
		Minute:      e.opts.DeploymentMinute,
		Install:     e.opts.Install,
		Logf:        e.opts.Logf,
		// CodeDeploy acts as the deployment group's service role.
		RoleConfig: func(ctx context.Context, role string) (aws.Config, error) {
			creds, err := e.authz.assumeFor(ctx, "codedeploy.amazonaws.com", role, nil)
			return e.ConfigFor(creds), err
		},
		Authorize: func(ctx context.Context, role, action string, resources ...string) error {
			req := iampolicy.Request{Action: action, Resources: resources}
			if action == "iam:PassRole" {
				req.Context = map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}
			}
			return e.authz.authorizeAs(ctx, "codedeploy.amazonaws.com", role, req)
		},
	})
}

// CodeDeploy is the CodeDeploy emulation, for its failure injection (FailNextHook,
// TimeoutNextHook, SlowStep, SetHookTimeout).
func (e *Emulator) CodeDeploy() *codedeploy.Server { return e.cd }
