package awsemu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// A role session is held to its role's policies: a Deny statement wins over an Allow,
// and denials come back in each protocol's shape, naming the action and the resource.
// The role's trust policy decides who may assume it.
func TestRoleSessionsAreHeldToTheirPolicies(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)
	admin := emu.AWSConfig()
	s3admin := s3.NewFromConfig(admin, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	role, err := iam.NewFromConfig(admin).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	policy := `{"Version":"2012-10-17","Statement":[
		{"Sid":"Objects","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::` + name + `/*"},
		{"Sid":"KeepAudit","Effect":"Deny","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::` + name + `/audit/*"}]}`
	if _, err := iam.NewFromConfig(admin).PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.AssumeRoleAs(ctx, "lambda.amazonaws.com", aws.ToString(role.Role.Arn), nil); err == nil {
		t.Error("Lambda assumed a role whose trust policy names only ECS tasks")
	}
	creds, err := emu.AssumeRoleAs(ctx, "ecs-tasks.amazonaws.com", aws.ToString(role.Role.Arn), nil)
	if err != nil {
		t.Fatal(err)
	}
	s3role := s3.NewFromConfig(emu.ConfigFor(creds), func(o *s3.Options) { o.UsePathStyle = true })
	for _, key := range []string{"audit/log", "tmp/x"} {
		if _, err := s3role.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatalf("PutObject %s, allowed by Objects: %v", key, err)
		}
	}
	if _, err := s3role.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String("tmp/x")}); err != nil {
		t.Errorf("DeleteObject tmp/x, allowed by Objects: %v", err)
	}
	_, err = s3role.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(name), Key: aws.String("audit/log")})
	wantDenied(t, err, "AccessDenied", "s3:DeleteObject", "arn:aws:s3:::"+name+"/audit/log", "explicit deny")

	// JSON protocol: AccessDeniedException, naming the assumed role.
	_, err = ecs.NewFromConfig(emu.ConfigFor(creds)).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("x:1")})
	wantDenied(t, err, "AccessDeniedException", "ecs:DescribeTaskDefinition", "assumed-role/"+name+"/", "no identity-based policy allows")
}

func wantDenied(t *testing.T, err error, code string, wants ...string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	for _, want := range wants {
		if !strings.Contains(api.ErrorMessage(), want) {
			t.Errorf("denial %q does not name %q", api.ErrorMessage(), want)
		}
	}
}
