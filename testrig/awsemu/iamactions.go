package awsemu

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/knowmetools/km-release/testrig/awsemu/iampolicy"
)

// What each call the product makes asks of IAM: the action, the resources (ARNs as the
// service's authorization reference defines them) and the condition keys the
// emulation knows. A call not listed here is denied to a role session, so a new call
// of the product is noticed rather than silently allowed.

// authzCall is one request being authorised.
type authzCall struct {
	e    *Emulator
	r    *http.Request
	c    call
	body map[string]any // JSON protocols
	form url.Values     // query protocols
}

func (a *authorizer) requestsFor(r *http.Request, c call) ([]iampolicy.Request, error) {
	ac := &authzCall{e: a.e, r: r, c: c}
	switch c.protocol {
	case protoJSON:
		_ = json.Unmarshal(readBody(r), &ac.body)
	case protoQuery, protoEC2:
		ac.form, _ = url.ParseQuery(string(readBody(r)))
	}
	if c.service == "sts" && c.operation == "GetCallerIdentity" {
		return nil, nil // AWS: always allowed
	}
	if strings.HasPrefix(c.operation, "Describe") && c.service == "elasticloadbalancing" {
		return ac.any("elasticloadbalancing:" + c.operation), nil
	}
	f, ok := callActions[c.service+"/"+c.operation]
	if !ok {
		return nil, fmt.Errorf("the emulation does not know which IAM action %s %s needs, so a role may not call it (add it to callActions)", c.service, c.operation)
	}
	return f(ac)
}

var callActions = map[string]func(*authzCall) ([]iampolicy.Request, error){
	// ECS
	"ecs/RunTask": (*authzCall).ecsRunTask,
	"ecs/DescribeTasks": func(ac *authzCall) ([]iampolicy.Request, error) {
		return ac.ecsTasks("ecs:DescribeTasks", ac.strs("tasks"))
	},
	"ecs/StopTask": func(ac *authzCall) ([]iampolicy.Request, error) {
		return ac.ecsTasks("ecs:StopTask", []string{ac.str("task")})
	},
	"ecs/ListTasks":              func(ac *authzCall) ([]iampolicy.Request, error) { return ac.onCluster("ecs:ListTasks", nil), nil },
	"ecs/DescribeServices":       (*authzCall).ecsServices,
	"ecs/UpdateService":          (*authzCall).ecsServices,
	"ecs/DescribeTaskDefinition": func(ac *authzCall) ([]iampolicy.Request, error) { return ac.any("ecs:DescribeTaskDefinition"), nil },
	"ecs/ListTaskDefinitions":    func(ac *authzCall) ([]iampolicy.Request, error) { return ac.any("ecs:ListTaskDefinitions"), nil },
	"ecs/RegisterTaskDefinition": (*authzCall).ecsRegisterTaskDefinition,
	"ecs/DescribeClusters": func(ac *authzCall) ([]iampolicy.Request, error) {
		var arns []string
		for _, c := range ac.strs("clusters") {
			arns = append(arns, clusterARN(c))
		}
		return []iampolicy.Request{{Action: "ecs:DescribeClusters", Resources: arns}}, nil
	},
	"ecs/ListTagsForResource": func(ac *authzCall) ([]iampolicy.Request, error) {
		return []iampolicy.Request{{Action: "ecs:ListTagsForResource", Resources: []string{ac.str("resourceArn")}}}, nil
	},
	"ecs/TagResource": func(ac *authzCall) ([]iampolicy.Request, error) {
		return []iampolicy.Request{{Action: "ecs:TagResource", Resources: []string{ac.str("resourceArn")}}}, nil
	},
	"ecs/UntagResource": func(ac *authzCall) ([]iampolicy.Request, error) {
		return []iampolicy.Request{{Action: "ecs:UntagResource", Resources: []string{ac.str("resourceArn")}}}, nil
	},

	// CodeDeploy: actions on a deployment are authorised on its deployment group.
	"codedeploy/CreateDeployment":                     (*authzCall).cdGroupNamed,
	"codedeploy/ListDeployments":                      (*authzCall).cdGroupNamed,
	"codedeploy/GetDeploymentGroup":                   (*authzCall).cdGroupNamed,
	"codedeploy/GetDeployment":                        (*authzCall).cdDeployment,
	"codedeploy/StopDeployment":                       (*authzCall).cdDeployment,
	"codedeploy/ContinueDeployment":                   (*authzCall).cdDeployment,
	"codedeploy/ListDeploymentTargets":                (*authzCall).cdDeployment,
	"codedeploy/GetDeploymentTarget":                  (*authzCall).cdDeployment,
	"codedeploy/PutLifecycleEventHookExecutionStatus": (*authzCall).cdDeployment,
	"codedeploy/BatchGetDeployments":                  (*authzCall).cdDeployment,
	"codedeploy/GetApplication":                       (*authzCall).cdApplication,
	"codedeploy/GetApplicationRevision":               (*authzCall).cdApplication,
	"codedeploy/RegisterApplicationRevision":          (*authzCall).cdApplication,
	"codedeploy/GetDeploymentConfig": func(ac *authzCall) ([]iampolicy.Request, error) {
		return []iampolicy.Request{{Action: "codedeploy:GetDeploymentConfig", Resources: []string{arn("codedeploy", "deploymentconfig:"+ac.str("deploymentConfigName"))}}}, nil
	},

	// ECR
	"ecr/GetAuthorizationToken": func(ac *authzCall) ([]iampolicy.Request, error) { return ac.any("ecr:GetAuthorizationToken"), nil },
	"ecr/DescribeImages":        (*authzCall).ecrRepository,
	"ecr/BatchGetImage":         (*authzCall).ecrRepository,
	"ecr/DescribeRepositories": func(ac *authzCall) ([]iampolicy.Request, error) {
		var arns []string
		for _, n := range ac.strs("repositoryNames") {
			arns = append(arns, repositoryARN(n))
		}
		return []iampolicy.Request{{Action: "ecr:DescribeRepositories", Resources: arns}}, nil
	},

	// CloudWatch Logs: a log group's actions are authorised on "log-group:NAME:*", a
	// stream's on "log-group:NAME:log-stream:STREAM".
	"logs/GetLogEvents":       (*authzCall).logStream,
	"logs/PutLogEvents":       (*authzCall).logStream,
	"logs/CreateLogStream":    (*authzCall).logStream,
	"logs/FilterLogEvents":    (*authzCall).logGroup,
	"logs/DescribeLogStreams": (*authzCall).logGroup,

	// CloudFront
	"cloudfront/CreateInvalidation":    (*authzCall).distribution,
	"cloudfront/GetInvalidation":       (*authzCall).distribution,
	"cloudfront/ListInvalidations":     (*authzCall).distribution,
	"cloudfront/GetDistribution":       (*authzCall).distribution,
	"cloudfront/GetDistributionConfig": (*authzCall).distribution,

	// Lambda
	"lambda/Invoke":                   (*authzCall).function,
	"lambda/GetFunction":              (*authzCall).function,
	"lambda/GetFunctionConfiguration": (*authzCall).function,

	// EventBridge
	"events/DescribeRule": (*authzCall).rule,
	"events/EnableRule":   (*authzCall).rule,
	"events/DisableRule":  (*authzCall).rule,

	// Secrets Manager and Parameter Store
	"secretsmanager/GetSecretValue": (*authzCall).secret,
	"ssm/GetParameter":              (*authzCall).parameters,
	"ssm/GetParameters":             (*authzCall).parameters,

	// S3 (path-style): bucket actions on the bucket, object actions on bucket/key.
	"s3/ListObjectsV2":           (*authzCall).s3Bucket,
	"s3/ListObjects":             (*authzCall).s3Bucket,
	"s3/HeadBucket":              (*authzCall).s3Bucket,
	"s3/GetObject":               (*authzCall).s3Object,
	"s3/HeadObject":              (*authzCall).s3Object,
	"s3/PutObject":               (*authzCall).s3Object,
	"s3/CopyObject":              (*authzCall).s3Object,
	"s3/DeleteObject":            (*authzCall).s3Object,
	"s3/CreateMultipartUpload":   (*authzCall).s3Object,
	"s3/UploadPart":              (*authzCall).s3Object,
	"s3/CompleteMultipartUpload": (*authzCall).s3Object,
	"s3/DeleteObjects":           (*authzCall).s3DeleteObjects,

	// RDS
	"rds/DescribeDBInstances": func(ac *authzCall) ([]iampolicy.Request, error) {
		id := ac.form.Get("DBInstanceIdentifier")
		if id == "" {
			return ac.any("rds:DescribeDBInstances"), nil
		}
		return []iampolicy.Request{{Action: "rds:DescribeDBInstances", Resources: []string{arn("rds", "db:"+id)}}}, nil
	},
}

// arn builds a regional ARN of the emulation's account.
func arn(service, resource string) string {
	return "arn:aws:" + service + ":" + DefaultRegion + ":" + AccountID + ":" + resource
}

func (ac *authzCall) any(action string) []iampolicy.Request {
	return []iampolicy.Request{{Action: action}}
}

func (ac *authzCall) str(key string) string {
	s, _ := ac.body[key].(string)
	return s
}

func (ac *authzCall) strs(key string) []string {
	var out []string
	if list, ok := ac.body[key].([]any); ok {
		for _, v := range list {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// ---- ECS -----------------------------------------------------------------------------

// clusterOf is the cluster a request names (name or ARN), ECS's default when none.
func clusterOf(c string) string {
	if c == "" {
		return "default"
	}
	return clusterName(c)
}

func clusterARN(c string) string { return arn("ecs", "cluster/"+clusterOf(c)) }

func (ac *authzCall) onCluster(action string, resources []string) []iampolicy.Request {
	return []iampolicy.Request{{Action: action, Resources: resources, Context: map[string][]string{"ecs:cluster": {clusterARN(ac.str("cluster"))}}}}
}

func (ac *authzCall) ecsTasks(action string, tasks []string) ([]iampolicy.Request, error) {
	cluster := clusterOf(ac.str("cluster"))
	var arns []string
	for _, t := range tasks {
		if !strings.HasPrefix(t, "arn:") {
			t = arn("ecs", "task/"+cluster+"/"+t)
		}
		arns = append(arns, t)
	}
	return ac.onCluster(action, arns), nil
}

func (ac *authzCall) ecsServices() ([]iampolicy.Request, error) {
	cluster := clusterOf(ac.str("cluster"))
	names := ac.strs("services")
	if s := ac.str("service"); s != "" {
		names = append(names, s)
	}
	var arns []string
	for _, s := range names {
		if !strings.HasPrefix(s, "arn:") {
			s = arn("ecs", "service/"+cluster+"/"+s)
		}
		arns = append(arns, s)
	}
	return ac.onCluster("ecs:"+ac.c.operation, arns), nil
}

// passRoles is iam:PassRole of the roles a task definition names, to ECS tasks.
func passRoles(roles ...string) []iampolicy.Request {
	var reqs []iampolicy.Request
	for _, r := range roles {
		if r != "" {
			reqs = append(reqs, iampolicy.Request{Action: "iam:PassRole", Resources: []string{r},
				Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}})
		}
	}
	return reqs
}

func (ac *authzCall) ecsRunTask() ([]iampolicy.Request, error) {
	td, err := ecs.NewFromConfig(ac.e.backend).DescribeTaskDefinition(ac.r.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ac.str("taskDefinition"))})
	if err != nil {
		return nil, nil // ECS answers the unknown task definition itself
	}
	def := td.TaskDefinition
	reqs := ac.onCluster("ecs:RunTask", []string{aws.ToString(def.TaskDefinitionArn)})
	reqs = append(reqs, passRoles(aws.ToString(def.TaskRoleArn), aws.ToString(def.ExecutionRoleArn))...)
	if _, tagged := ac.body["tags"]; tagged || ac.str("propagateTags") != "" {
		reqs = append(reqs, iampolicy.Request{Action: "ecs:TagResource", Resources: []string{arn("ecs", "task/"+clusterOf(ac.str("cluster"))+"/*")},
			Context: map[string][]string{"ecs:CreateAction": {"RunTask"}}})
	}
	return reqs, nil
}

func (ac *authzCall) ecsRegisterTaskDefinition() ([]iampolicy.Request, error) {
	reqs := append(ac.any("ecs:RegisterTaskDefinition"), passRoles(ac.str("taskRoleArn"), ac.str("executionRoleArn"))...)
	if tags, ok := ac.body["tags"].([]any); ok && len(tags) > 0 {
		reqs = append(reqs, iampolicy.Request{Action: "ecs:TagResource", Resources: []string{arn("ecs", "task-definition/"+ac.str("family")+":*")},
			Context: map[string][]string{"ecs:CreateAction": {"RegisterTaskDefinition"}}})
	}
	return reqs, nil
}

// ---- CodeDeploy ----------------------------------------------------------------------

func groupARN(app, group string) string { return arn("codedeploy", "deploymentgroup:"+app+"/"+group) }

func (ac *authzCall) cdGroupNamed() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "codedeploy:" + ac.c.operation, Resources: []string{groupARN(ac.str("applicationName"), ac.str("deploymentGroupName"))}}}, nil
}

func (ac *authzCall) cdApplication() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "codedeploy:" + ac.c.operation, Resources: []string{arn("codedeploy", "application:"+ac.str("applicationName"))}}}, nil
}

func (ac *authzCall) cdDeployment() ([]iampolicy.Request, error) {
	ids := ac.strs("deploymentIds")
	if id := ac.str("deploymentId"); id != "" {
		ids = append(ids, id)
	}
	action := "codedeploy:" + ac.c.operation
	if ac.c.operation == "BatchGetDeployments" {
		action = "codedeploy:GetDeployment" // what AWS checks for each deployment
	}
	var arns []string
	for _, id := range ids {
		if app, group, ok := ac.e.cd.GroupOf(id); ok {
			arns = append(arns, groupARN(app, group))
		}
	}
	if len(arns) == 0 {
		return nil, nil // an unknown deployment: CodeDeploy answers it
	}
	return []iampolicy.Request{{Action: action, Resources: arns}}, nil
}

// ---- ECR, Logs, CloudFront, Lambda, EventBridge, secrets ------------------------------

func repositoryARN(name string) string { return arn("ecr", "repository/"+name) }

func (ac *authzCall) ecrRepository() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "ecr:" + ac.c.operation, Resources: []string{repositoryARN(ac.str("repositoryName"))}}}, nil
}

func (ac *authzCall) logGroup() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "logs:" + ac.c.operation, Resources: []string{arn("logs", "log-group:"+ac.str("logGroupName")+":*")}}}, nil
}

func (ac *authzCall) logStream() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "logs:" + ac.c.operation, Resources: []string{
		arn("logs", "log-group:"+ac.str("logGroupName")+":log-stream:"+ac.str("logStreamName"))}}}, nil
}

func (ac *authzCall) distribution() ([]iampolicy.Request, error) {
	parts := pathParts(ac.r.URL.Path) // 2020-05-31 distribution ID ...
	if len(parts) < 3 {
		return nil, fmt.Errorf("no distribution in %s", ac.r.URL.Path)
	}
	return []iampolicy.Request{{Action: "cloudfront:" + ac.c.operation, Resources: []string{"arn:aws:cloudfront::" + AccountID + ":distribution/" + parts[2]}}}, nil
}

func (ac *authzCall) function() ([]iampolicy.Request, error) {
	parts := pathParts(ac.r.URL.EscapedPath()) // 2015-03-31 functions NAME ...
	if len(parts) < 3 {
		return nil, fmt.Errorf("no function in %s", ac.r.URL.Path)
	}
	name, _ := url.PathUnescape(parts[2])
	action := "lambda:" + ac.c.operation
	if ac.c.operation == "Invoke" {
		action = "lambda:InvokeFunction"
	}
	return []iampolicy.Request{{Action: action, Resources: []string{arn("lambda", "function:"+functionName(name))}}}, nil
}

func (ac *authzCall) rule() ([]iampolicy.Request, error) {
	return []iampolicy.Request{{Action: "events:" + ac.c.operation, Resources: []string{arn("events", "rule/"+ac.str("Name"))}}}, nil
}

func (ac *authzCall) secret() ([]iampolicy.Request, error) {
	id := ac.str("SecretId")
	if !strings.HasPrefix(id, "arn:") {
		out, err := secretsmanager.NewFromConfig(ac.e.backend).DescribeSecret(ac.r.Context(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil {
			return nil, nil // Secrets Manager answers the unknown secret itself
		}
		id = aws.ToString(out.ARN)
	}
	return []iampolicy.Request{{Action: "secretsmanager:GetSecretValue", Resources: []string{id}}}, nil
}

func (ac *authzCall) parameters() ([]iampolicy.Request, error) {
	names := ac.strs("Names")
	if n := ac.str("Name"); n != "" {
		names = append(names, n)
	}
	var arns []string
	for _, n := range names {
		if !strings.HasPrefix(n, "arn:") {
			n = arn("ssm", "parameter/"+strings.TrimPrefix(n, "/"))
		}
		arns = append(arns, n)
	}
	return []iampolicy.Request{{Action: "ssm:" + ac.c.operation, Resources: arns}}, nil
}

// ---- S3 ------------------------------------------------------------------------------

func (ac *authzCall) bucketAndKey() (string, string) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(ac.r.URL.Path, "/"), "/")
	return bucket, key
}

func (ac *authzCall) s3Bucket() ([]iampolicy.Request, error) {
	bucket, _ := ac.bucketAndKey()
	return []iampolicy.Request{{Action: "s3:ListBucket", Resources: []string{"arn:aws:s3:::" + bucket}}}, nil
}

func (ac *authzCall) s3Object() ([]iampolicy.Request, error) {
	bucket, key := ac.bucketAndKey()
	action := map[string]string{
		"GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject",
	}[ac.c.operation]
	if action == "" {
		action = "s3:PutObject" // PutObject, CopyObject and the multipart steps
	}
	reqs := []iampolicy.Request{{Action: action, Resources: []string{"arn:aws:s3:::" + bucket + "/" + key}}}
	if src := ac.r.Header.Get("X-Amz-Copy-Source"); src != "" {
		src, _ = url.PathUnescape(strings.TrimPrefix(src, "/"))
		reqs = append(reqs, iampolicy.Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::" + src}})
	}
	return reqs, nil
}

func (ac *authzCall) s3DeleteObjects() ([]iampolicy.Request, error) {
	bucket, _ := ac.bucketAndKey()
	var del struct {
		Objects []struct{ Key string } `xml:"Object"`
	}
	if err := xml.Unmarshal(readBody(ac.r), &del); err != nil {
		return nil, fmt.Errorf("DeleteObjects body: %w", err)
	}
	var arns []string
	for _, o := range del.Objects {
		arns = append(arns, "arn:aws:s3:::"+bucket+"/"+o.Key)
	}
	return []iampolicy.Request{{Action: "s3:DeleteObject", Resources: arns}}, nil
}

var _ = context.Background
