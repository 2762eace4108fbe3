package envfixture

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestMain(m *testing.M) { Main(m) }

func TestSetupBuildsACompleteEnvironment(t *testing.T) {
	env := Setup(t, Options{})
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

func TestOptionsValidation(t *testing.T) {
	for _, name := range []string{"", "Upper", "a-name-that-is-far-too-long"} {
		o := Options{Name: name}
		if err := o.defaults(); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func TestWaitStartedReportsAnUnknownTask(t *testing.T) {
	env := Setup(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	arn := "arn:aws:ecs:us-east-1:123456789012:task/" + env.Resources.Cluster + "/0000000000000000000000000000dead"
	err := waitStarted(ctx, ecs.NewFromConfig(env.AWS), env.Resources.Cluster, arn, env.Resources.ContainerName)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "dead") {
		t.Errorf("unknown task: %v (context: %v), want an error naming the task before the deadline", err, ctx.Err())
	}
}
