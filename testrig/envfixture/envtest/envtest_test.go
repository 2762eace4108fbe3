package envtest_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

func TestSetupBuildsACompleteEnvironment(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{})
	ctx := context.Background()
	r := env.Resources
	// Every resource a rollout needs is named.
	for _, f := range []string{"Cluster", "Service", "TaskFamily", "ContainerName", "CodeDeployApp", "CodeDeployGroup",
		"MigrationHookEvent", "MigrateFunction", "ProdListenerARN", "TestListenerARN", "TargetGroupBlue", "TargetGroupGreen",
		"LogGroup", "ECRRepositoryURL"} {
		if reflect.ValueOf(r).FieldByName(f).String() == "" {
			t.Errorf("Resources.%s is empty", f)
		}
	}
	if len(r.TaskSubnets) != 2 || len(r.TaskSecurityGroups) != 1 {
		t.Errorf("subnets %v, security groups %v", r.TaskSubnets, r.TaskSecurityGroups)
	}
	svc, err := ecs.NewFromConfig(env.AWS).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(r.Cluster), Services: []string{r.Service}})
	if err != nil || len(svc.Services) != 1 {
		t.Fatalf("describe service: %v %+v", err, svc)
	}
	if dc := svc.Services[0].DeploymentController; dc == nil || dc.Type != ecstypes.DeploymentControllerTypeCodeDeploy {
		t.Errorf("deployment controller = %+v, want CODE_DEPLOY", dc)
	}
	if td, err := env.ServiceTaskDefinition(ctx); err != nil || td != env.InitialTaskDefinition {
		t.Errorf("service runs %q (%v), want %s", td, err, env.InitialTaskDefinition)
	}
	if tg, err := env.ProdTargetGroup(ctx); err != nil || tg != r.TargetGroupBlue {
		t.Errorf("prod listener forwards to %q (%v), want blue %s", tg, err, r.TargetGroupBlue)
	}
	if _, err := codedeploy.NewFromConfig(env.AWS).GetDeploymentGroup(ctx, &codedeploy.GetDeploymentGroupInput{
		ApplicationName: aws.String(r.CodeDeployApp), DeploymentGroupName: aws.String(r.CodeDeployGroup),
	}); err != nil {
		t.Errorf("deployment group: %v", err)
	}
	fn, err := lambda.NewFromConfig(env.AWS).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(r.MigrateFunction)})
	if err != nil {
		t.Fatalf("migration function: %v", err)
	}
	if got := fn.Configuration.Environment.Variables["CLUSTER"]; got != r.Cluster {
		t.Errorf("function CLUSTER = %q", got)
	}
}
