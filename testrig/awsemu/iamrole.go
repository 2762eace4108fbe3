package awsemu

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// AdministratorAccess is AWS's managed policy that allows everything.
const AdministratorAccess = "arn:aws:iam::aws:policy/AdministratorAccess"

// CreateAdminRole creates a role that service (e.g. "lambda.amazonaws.com") may assume,
// with AdministratorAccess: for fixtures that test behaviour, not IAM. The product's
// least-privilege roles come from infra/ (testrig/realinfra, the rehearsal).
func CreateAdminRole(ctx context.Context, cfg aws.Config, name, service string) (string, error) {
	client := iam.NewFromConfig(cfg)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}]}`, service)
	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		return "", err
	}
	if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(AdministratorAccess)}); err != nil {
		return "", err
	}
	return aws.ToString(out.Role.Arn), nil
}

// AdminRole returns the ARN of an AdministratorAccess role called name that service
// may assume, creating it on first use; fixtures share it (e.g. one CodeDeploy
// service role for every deployment group of a test binary).
func AdminRole(ctx context.Context, cfg aws.Config, name, service string) (string, error) {
	if out, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil {
		return aws.ToString(out.Role.Arn), nil
	}
	return CreateAdminRole(ctx, cfg, name, service)
}
