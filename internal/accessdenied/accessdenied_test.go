package accessdenied

import (
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestExplain(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/km-staging-github-actions/github-actions is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/km-staging-api:7 because no identity-based policy allows the ecs:RunTask action"}
	line, ok := Explain(fmt.Errorf("run the migration: %w", denied))
	want := "access denied: role km-staging-github-actions may not ecs:RunTask on arn:aws:ecs:us-east-1:123456789012:task-definition/km-staging-api:7; grant it in infra/ci_access.tf (data.aws_iam_policy_document.github_actions)"
	if !ok || line != want {
		t.Errorf("Explain = %q, %v\nwant %q", line, ok, want)
	}
	s3 := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:sts::123456789012:assumed-role/km-qa-api-task-execution/ecs-tasks is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:km-qa/app-AbC with an explicit deny"}
	if line, ok := Explain(s3); !ok || line != "access denied: role km-qa-api-task-execution may not secretsmanager:GetSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:km-qa/app-AbC; grant it in infra/api.tf (data.aws_iam_policy_document.task_execution)" {
		t.Errorf("Explain = %q, %v", line, ok)
	}
	for _, err := range []error{
		fmt.Errorf("plain"),
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"},
		&smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}, // S3 without details
	} {
		if line, ok := Explain(err); ok {
			t.Errorf("Explain(%v) = %q", err, line)
		}
	}
	if PolicyOf("km-qa-api-task") != "infra/api.tf (data.aws_iam_policy_document.task)" || PolicyOf("someone-else") != "" {
		t.Error("PolicyOf")
	}
}
