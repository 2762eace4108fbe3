// Package awsemu runs a local emulation of the AWS services the product uses: moto for
// what it does well, and Go code of this project in front of it, on one endpoint, for
// what moto lacks (CodeDeploy ECS blue/green, ECS tasks, an OCI registry behind ECR,
// in-process Lambda invocation, response fixes and failure injection).
//
// PUBLIC API CONTRACT (other packages code against it; add to it, do not change it):
//
//	emu, err := awsemu.Start(ctx, awsemu.Options{...})
//	defer emu.Close()
//	emu.Endpoint()            // "http://127.0.0.1:PORT", for AWS_ENDPOINT_URL
//	emu.Region()              // "us-east-1"
//	emu.AWSConfig()           // aws.Config: region, static credentials, BaseEndpoint
//	emu.Env()                 // AWS_ENDPOINT_URL=…, AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=…, AWS_REGION=…, AWS_DEFAULT_REGION=…, AWS_EC2_METADATA_DISABLED=true
//	emu.RegistryHost()        // "127.0.0.1:PORT" of the OCI registry behind ECR
//	emu.RegisterLambda(name, factory)  // Invoke of function `name` runs factory's handler in-process
//	emu.Faults()              // failure injection (throttling, delays, next ECS task outcome)
//	emu.CodeDeploy()          // *codedeploy.Server: hook failure/timeout injection
//	emu.Reset(ctx)            // moto reset API + emulation state, for isolation between tests
//
// Additions: emu.MotoURL() (moto itself, diagnostics); emu.Faults().Calls(service, op);
// Options.TaskRunner (TaskRunner, TaskRun, ContainerRun, TaskOutcome, ContainerExit,
// SimulatedRunner), Options.Install / HookTimeout / DeploymentStepDelay / DeploymentMinute
// (CodeDeploy timings), Options.TaskStepDelay, Options.Logf, Options.Postgres (RDS
// instances backed by a real PostgreSQL server); ErrMotoMissing; the
// constants DefaultRegion, AccountID, AccessKeyID, SecretAccessKey. docs/emulation.md
// describes what is emulated.
package awsemu

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// LambdaFactory builds the handler of one function for one invocation. env holds the
// function's configured environment variables (from its Lambda configuration);
// awsCfg points the handler's SDK clients at the emulation.
type LambdaFactory func(ctx context.Context, env map[string]string, awsCfg aws.Config) (lambda.Handler, error)
