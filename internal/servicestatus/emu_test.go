package servicestatus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/knowmetools/km-release/internal/rollout"
	"github.com/knowmetools/km-release/internal/servicestatus"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/envfixture/envtest"
)

func TestMain(m *testing.M) { envtest.Main(m) }

func TestStatus(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	image, _ := env.PushImage(ctx, "status")
	d := &rollout.Deployer{Clients: rollout.NewClients(env.AWS), Resources: &env.Resources, Poll: rollout.PollSettings{Interval: 200 * time.Millisecond}}
	res, err := d.Rollout(ctx, rollout.Options{Image: image, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	svc := &servicestatus.Service{ECS: ecs.NewFromConfig(env.AWS), CodeDeploy: codedeploy.NewFromConfig(env.AWS), Resources: &env.Resources}
	st, err := svc.Status(ctx, servicestatus.StatusOptions{WebVersion: func(context.Context) (string, error) { return "web-abc123", nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, digest, _ := strings.Cut(image, "@")
	if st.TaskDefinition != res.TaskDefinition || st.Image != image || st.ImageDigest != digest || st.WebVersion != "web-abc123" {
		t.Errorf("status %+v", st)
	}
	if len(st.Deployments) != 1 || st.Deployments[0].ID != res.DeploymentID || st.Deployments[0].Status != "Succeeded" {
		t.Errorf("deployments %+v", st.Deployments)
	}
	var text, js bytes.Buffer
	if err := st.WriteText(&text); err != nil || !strings.Contains(text.String(), res.DeploymentID) {
		t.Errorf("text:\n%s", text.String())
	}
	if err := st.WriteJSON(&js); err != nil || !strings.Contains(js.String(), fmt.Sprintf("%q", digest)) {
		t.Errorf("json:\n%s", js.String())
	}
}

// A part status cannot read (here: a role denied ecs:ListTasks, a web bucket that
// fails) shows as "unknown" with the reason, and the rest is still shown.
func TestStatusSaysWhatItCouldNotRead(t *testing.T) {
	env := envtest.Setup(t, envfixture.Options{NoMigrateHook: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := iam.NewFromConfig(env.AWS)
	name := emutest.UniqueName(t)
	role, err := admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecs:ListTasks","Resource":"*"}]}`
	if _, err := admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: role.Role.RoleName, PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	creds, err := env.Emu.AssumeRoleAs(ctx, "ecs-tasks.amazonaws.com", aws.ToString(role.Role.Arn), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := env.Emu.ConfigFor(creds)
	svc := &servicestatus.Service{ECS: ecs.NewFromConfig(cfg), CodeDeploy: codedeploy.NewFromConfig(cfg), Resources: &env.Resources}
	st, err := svc.Status(ctx, servicestatus.StatusOptions{WebVersion: func(context.Context) (string, error) { return "", errors.New("bucket unreachable") }})
	if err != nil {
		t.Fatal(err)
	}
	if st.WebVersion != "unknown" || len(st.Unread) != 2 || !strings.Contains(st.Unread[0], "ecs:ListTasks") || !strings.Contains(st.Unread[1], "bucket unreachable") {
		t.Errorf("web version %q, unread %q: want both parts named with their reason", st.WebVersion, st.Unread)
	}
	var text bytes.Buffer
	if err := st.WriteText(&text); err != nil || !strings.Contains(text.String(), "Could not read  the web version: bucket unreachable") {
		t.Errorf("text:\n%s", text.String())
	}
}
