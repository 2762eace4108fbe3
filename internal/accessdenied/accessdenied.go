// Package accessdenied turns an AWS access denial into one line that names the role,
// the action, the resource, and where in infra/ that role's policy is written, so a
// missing permission is fixed where it belongs.
package accessdenied

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/smithy-go"
)

// Denial is one access denial AWS reported.
type Denial struct {
	Principal string // the caller's ARN, e.g. arn:aws:sts::123456789012:assumed-role/ROLE/SESSION
	Role      string // ROLE, when the caller is an assumed role
	Action    string
	Resource  string
}

// AWS words a denial as "User: ARN is not authorized to perform: ACTION on resource:
// RESOURCE ..." (with or without "because ...").
var message = regexp.MustCompile(`User: (\S+) is not authorized to perform: (\S+) on resource: (\S+)`)

// From finds an access denial in err's chain.
func From(err error) (Denial, bool) {
	var api smithy.APIError
	if !errors.As(err, &api) || !strings.HasPrefix(api.ErrorCode(), "AccessDenied") {
		return Denial{}, false
	}
	m := message.FindStringSubmatch(api.ErrorMessage())
	if m == nil {
		return Denial{}, false
	}
	d := Denial{Principal: m[1], Action: m[2], Resource: strings.TrimSuffix(m[3], ",")}
	if _, rest, ok := strings.Cut(d.Principal, ":assumed-role/"); ok {
		d.Role, _, _ = strings.Cut(rest, "/")
	}
	return d, true
}

// policies says where infra/ writes the policy of each of its roles, by the role
// name's suffix (every role is named km-<env>-<suffix>).
var policies = []struct{ suffix, where string }{
	{"-github-actions", "infra/ci_access.tf (data.aws_iam_policy_document.github_actions)"},
	{"-migrate-lambda", "infra/lambdas.tf (data.aws_iam_policy_document.migrate and lambda_run_api_task)"},
	{"-jobs-lambda", "infra/lambdas.tf (data.aws_iam_policy_document.jobs and lambda_run_api_task)"},
	{"-api-task-execution", "infra/api.tf (data.aws_iam_policy_document.task_execution)"},
	{"-api-task", "infra/api.tf (data.aws_iam_policy_document.task)"},
	{"-codedeploy", "infra/codedeploy.tf (data.aws_iam_policy_document.codedeploy_hooks, AWSCodeDeployRoleForECSLimited)"},
}

// PolicyOf says where infra/ writes role's policy ("" for a role infra/ does not make).
func PolicyOf(role string) string {
	for _, p := range policies {
		if strings.HasSuffix(role, p.suffix) {
			return p.where
		}
	}
	return ""
}

// String is the one line: who may not do what, and where to grant it.
func (d Denial) String() string {
	who := d.Principal
	if d.Role != "" {
		who = "role " + d.Role
	}
	line := fmt.Sprintf("access denied: %s may not %s on %s", who, d.Action, d.Resource)
	if where := PolicyOf(d.Role); where != "" {
		line += "; grant it in " + where
	}
	return line
}

// Explain is the one line for err, if err is an access denial.
func Explain(err error) (string, bool) {
	d, ok := From(err)
	if !ok {
		return "", false
	}
	return d.String(), true
}
