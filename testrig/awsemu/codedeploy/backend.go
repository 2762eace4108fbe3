package codedeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/knowmetools/km-release/internal/appspec"
)

// traffic is what a deployment found and changed in ECS and ELBv2, so a rollback can
// put it back.
type traffic struct {
	role                         string // the deployment group's service role, CodeDeploy's identity
	cluster, service, serviceArn string
	desiredCount                 int32
	launchType                   string
	platformVersion              string
	network                      *ecstypes.NetworkConfiguration

	origTaskDef, newTaskDef string
	origTaskSet             string // primary task set before the deployment, if the service had one
	replTaskSet             string

	origTG, replTG         string // target group ARNs
	origTGName, replTGName string
	prodListener           string
	testListener           string

	testMoved, prodMoved, primarySwitched bool
}

// clients are the SDK clients the lifecycle uses; built once per Server.
type clients struct {
	ecs    *ecs.Client
	elb    *elb.Client
	lambda *lambda.Client
}

func newClients(cfg Config) clients {
	return clients{
		ecs:    ecs.NewFromConfig(cfg.Backend),
		elb:    elb.NewFromConfig(cfg.Backend),
		lambda: lambda.NewFromConfig(cfg.Front),
	}
}

// stepError is a lifecycle failure with the errorInformation code AWS reports.
type stepError struct {
	code    string
	message string
	diag    *diagnostics
}

func (e *stepError) Error() string { return e.code + ": " + e.message }

func failf(code, format string, args ...any) *stepError {
	return &stepError{code: code, message: fmt.Sprintf(format, args...)}
}

// prepare reads the service, the AppSpec's task definition, the target groups and the
// listeners, and decides which target group is the replacement.
func (s *Server) prepare(ctx context.Context, d *deployment) error {
	tr := &d.traffic
	tr.role = d.group.ServiceRoleArn
	svcRef := d.group.EcsServices[0]
	tr.cluster, tr.service = svcRef.ClusterName, svcRef.ServiceName
	if err := s.may(ctx, tr, "ecs:DescribeServices", s.serviceARN(tr)); err != nil {
		return err
	}
	out, err := s.aws.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &tr.cluster, Services: []string{tr.service}})
	if err != nil {
		return failf("INVALID_ECS_SERVICE", "describe ECS service %s in cluster %s: %v", tr.service, tr.cluster, err)
	}
	if len(out.Services) != 1 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
		return failf("INVALID_ECS_SERVICE", "The ECS service %s in cluster %s does not exist or is not ACTIVE.", tr.service, tr.cluster)
	}
	svc := out.Services[0]
	if svc.DeploymentController == nil || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeCodeDeploy {
		return failf("INVALID_ECS_SERVICE", "The ECS service %s must use deploymentController CODE_DEPLOY for blue/green deployments.", tr.service)
	}
	tr.serviceArn = aws.ToString(svc.ServiceArn)
	tr.origTaskDef = aws.ToString(svc.TaskDefinition)
	tr.desiredCount = svc.DesiredCount
	tr.launchType = string(svc.LaunchType)
	tr.platformVersion = aws.ToString(svc.PlatformVersion)
	tr.network = svc.NetworkConfiguration
	for _, ts := range svc.TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			tr.origTaskSet = aws.ToString(ts.TaskSetArn)
			tr.origTaskDef = aws.ToString(ts.TaskDefinition)
		}
	}

	p := d.props()
	td, err := s.aws.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &p.TaskDefinition})
	if err != nil {
		return failf("ECS_UPDATE_ERROR", "The ECS task definition %s in the AppSpec cannot be found: %v", p.TaskDefinition, err)
	}
	tr.newTaskDef = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	if err := checkContainer(td.TaskDefinition, p.LoadBalancerInfo); err != nil {
		return err
	}

	pair := d.group.LoadBalancerInfo.TargetGroupPairInfoList[0]
	names := []string{pair.TargetGroups[0].Name, pair.TargetGroups[1].Name}
	tgs, err := s.aws.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: names})
	if err != nil {
		return failf("ELASTIC_LOAD_BALANCING_INVALID", "describe target groups %s: %v", strings.Join(names, ", "), err)
	}
	arnByName := map[string]string{}
	for _, tg := range tgs.TargetGroups {
		arnByName[aws.ToString(tg.TargetGroupName)] = aws.ToString(tg.TargetGroupArn)
	}
	tr.prodListener = pair.ProdTrafficRoute.ListenerArns[0]
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) == 1 {
		tr.testListener = pair.TestTrafficRoute.ListenerArns[0]
	}
	serving, err := s.forwardTarget(ctx, tr.prodListener)
	if err != nil {
		return err
	}
	for i, n := range names {
		if arnByName[n] == "" {
			return failf("ELASTIC_LOAD_BALANCING_INVALID", "The target group %s of deployment group %s does not exist.", n, d.group.DeploymentGroupName)
		}
		if arnByName[n] == serving {
			tr.origTGName, tr.replTGName = n, names[1-i]
		}
	}
	if tr.origTGName == "" {
		return failf("ELASTIC_LOAD_BALANCING_INVALID", "The production listener %s forwards to neither target group of the deployment group (%s).", tr.prodListener, strings.Join(names, ", "))
	}
	tr.origTG, tr.replTG = arnByName[tr.origTGName], arnByName[tr.replTGName]
	return nil
}

func checkContainer(td *ecstypes.TaskDefinition, lb appspec.LoadBalancerInfo) error {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) != lb.ContainerName {
			continue
		}
		for _, pm := range c.PortMappings {
			if aws.ToInt32(pm.ContainerPort) == lb.ContainerPort {
				return nil
			}
		}
		return failf("ECS_UPDATE_ERROR", "The container %s in task definition %s has no port mapping for container port %d named in the AppSpec.", lb.ContainerName, aws.ToString(td.TaskDefinitionArn), lb.ContainerPort)
	}
	return failf("ECS_UPDATE_ERROR", "The task definition %s has no container named %s (AppSpec LoadBalancerInfo.ContainerName).", aws.ToString(td.TaskDefinitionArn), lb.ContainerName)
}

// forwardTarget returns the target group a listener's default action sends most traffic to.
func (s *Server) forwardTarget(ctx context.Context, listener string) (string, error) {
	out, err := s.aws.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if err != nil || len(out.Listeners) != 1 {
		return "", failf("ELASTIC_LOAD_BALANCING_INVALID", "The listener %s cannot be found: %v", listener, err)
	}
	for _, a := range out.Listeners[0].DefaultActions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.TargetGroupArn != nil {
			return *a.TargetGroupArn, nil
		}
		best, weight := "", int32(-1)
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				if w := aws.ToInt32(tg.Weight); w > weight {
					best, weight = aws.ToString(tg.TargetGroupArn), w
				}
			}
		}
		if best != "" {
			return best, nil
		}
	}
	return "", failf("ELASTIC_LOAD_BALANCING_INVALID", "The listener %s has no forward default action.", listener)
}

// route points a listener's default action at target groups: all to to when
// toWeight is 100, else a weighted split between from and to.
func (s *Server) route(ctx context.Context, tr *traffic, listener, from, to string, toWeight int32) error {
	action := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward}
	if toWeight >= 100 {
		action.TargetGroupArn = &to
	} else {
		action.ForwardConfig = &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: &from, Weight: aws.Int32(100 - toWeight)},
			{TargetGroupArn: &to, Weight: aws.Int32(toWeight)},
		}}
	}
	if err := s.may(ctx, tr, "elasticloadbalancing:ModifyListener", listener); err != nil {
		return err
	}
	_, err := s.aws.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &listener, DefaultActions: []elbtypes.Action{action}})
	if err != nil {
		return failf("ELASTIC_LOAD_BALANCING_INVALID", "modify listener %s: %v", listener, err)
	}
	return nil
}

// createReplacementTaskSet starts the green task set in the backend.
func (s *Server) createReplacementTaskSet(ctx context.Context, d *deployment) error {
	tr := &d.traffic
	p := d.props()
	in := &ecs.CreateTaskSetInput{
		Cluster:        &tr.cluster,
		Service:        &tr.service,
		TaskDefinition: &tr.newTaskDef,
		ExternalId:     aws.String(d.info.DeploymentID),
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: &tr.replTG, ContainerName: &p.LoadBalancerInfo.ContainerName, ContainerPort: &p.LoadBalancerInfo.ContainerPort,
		}},
		Scale:                &ecstypes.Scale{Unit: ecstypes.ScaleUnitPercent, Value: 100},
		NetworkConfiguration: s.networkFor(d),
	}
	if tr.launchType != "" {
		in.LaunchType = ecstypes.LaunchType(tr.launchType)
	}
	if pv := p.PlatformVersion; pv != "" {
		in.PlatformVersion = &pv
	} else if tr.platformVersion != "" {
		in.PlatformVersion = &tr.platformVersion
	}
	if err := s.may(ctx, tr, "ecs:CreateTaskSet", s.serviceARN(tr)); err != nil {
		return err
	}
	if err := s.mayPassTaskRoles(ctx, tr); err != nil {
		return err
	}
	out, err := s.aws.ecs.CreateTaskSet(ctx, in)
	if err != nil {
		hint := ""
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusInternalServerError {
			// moto's known crash: awsvpc tasks in a VPC without DNS hostnames.
			hint = " (in the emulation this usually means the VPC lacks DNS hostnames: enable them with ModifyVpcAttribute EnableDnsHostnames)"
		}
		return failf("ECS_UPDATE_ERROR", "create the replacement task set for service %s with task definition %s: %v%s", tr.service, tr.newTaskDef, err, hint)
	}
	tr.replTaskSet = aws.ToString(out.TaskSet.TaskSetArn)
	return nil
}

// networkFor takes the AppSpec's awsvpc configuration, else the service's.
func (s *Server) networkFor(d *deployment) *ecstypes.NetworkConfiguration {
	nc := d.props().NetworkConfiguration
	if nc == nil || len(nc.AwsvpcConfiguration.Subnets) == 0 {
		return d.traffic.network
	}
	sp := nc.AwsvpcConfiguration
	vpc := &ecstypes.AwsVpcConfiguration{Subnets: sp.Subnets, SecurityGroups: sp.SecurityGroups}
	if sp.AssignPublicIp != "" {
		vpc.AssignPublicIp = ecstypes.AssignPublicIp(sp.AssignPublicIp)
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: vpc}
}

func (s *Server) installRequest(d *deployment) InstallRequest {
	tr := d.traffic
	p := d.props()
	r := InstallRequest{
		DeploymentID: d.info.DeploymentID, ApplicationName: d.info.ApplicationName,
		DeploymentGroupName: d.info.DeploymentGroupName, Cluster: tr.cluster, Service: tr.service,
		TaskDefinition: tr.newTaskDef, TaskSetArn: tr.replTaskSet, ContainerName: p.LoadBalancerInfo.ContainerName,
		ContainerPort: p.LoadBalancerInfo.ContainerPort, PlatformVersion: p.PlatformVersion, LaunchType: tr.launchType,
		TargetGroupArn: tr.replTG, DesiredCount: tr.desiredCount,
	}
	if n := s.networkFor(d); n != nil && n.AwsvpcConfiguration != nil {
		r.Subnets = n.AwsvpcConfiguration.Subnets
		r.SecurityGroups = n.AwsvpcConfiguration.SecurityGroups
		r.AssignPublicIP = string(n.AwsvpcConfiguration.AssignPublicIp)
	}
	return r
}

// switchPrimary makes the replacement task set primary, which also points the
// service's taskDefinition at the new revision.
func (s *Server) switchPrimary(ctx context.Context, tr *traffic) error {
	if err := s.may(ctx, tr, "ecs:UpdateServicePrimaryTaskSet", s.serviceARN(tr)); err != nil {
		return err
	}
	tr.primarySwitched = true
	_, err := s.aws.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{
		Cluster: &tr.cluster, Service: &tr.service, PrimaryTaskSet: &tr.replTaskSet,
	})
	if err != nil {
		return failf("ECS_UPDATE_ERROR", "make the replacement task set primary in service %s: %v", tr.service, err)
	}
	return nil
}

func (s *Server) deleteTaskSet(ctx context.Context, tr *traffic, arn string) error {
	if arn == "" {
		return nil
	}
	if err := s.may(ctx, tr, "ecs:DeleteTaskSet", s.serviceARN(tr)); err != nil {
		return err
	}
	_, err := s.aws.ecs.DeleteTaskSet(ctx, &ecs.DeleteTaskSetInput{Cluster: &tr.cluster, Service: &tr.service, TaskSet: &arn, Force: aws.Bool(true)})
	var nf *ecstypes.TaskSetNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return failf("ECS_UPDATE_ERROR", "delete task set %s of service %s: %v", arn, tr.service, err)
	}
	return nil
}

// restore puts listeners and the service back the way a deployment found them and
// removes its replacement task set.
func (s *Server) restore(ctx context.Context, tr *traffic) error {
	var errs []error
	if tr.prodMoved {
		errs = append(errs, s.route(ctx, tr, tr.prodListener, tr.replTG, tr.origTG, 100))
	}
	if tr.testMoved && tr.testListener != "" {
		errs = append(errs, s.route(ctx, tr, tr.testListener, tr.replTG, tr.origTG, 100))
	}
	if tr.primarySwitched {
		if tr.origTaskSet != "" {
			_, err := s.aws.ecs.UpdateServicePrimaryTaskSet(ctx, &ecs.UpdateServicePrimaryTaskSetInput{
				Cluster: &tr.cluster, Service: &tr.service, PrimaryTaskSet: &tr.origTaskSet,
			})
			errs = append(errs, wrapNil(err, "make the original task set primary again"))
		} else {
			_, err := s.aws.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
				Cluster: &tr.cluster, Service: &tr.service, TaskDefinition: &tr.origTaskDef,
			})
			errs = append(errs, wrapNil(err, "point the service back at "+tr.origTaskDef))
		}
	}
	errs = append(errs, s.deleteTaskSet(ctx, tr, tr.replTaskSet))
	return errors.Join(errs...)
}

func wrapNil(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// invokeHook starts the hook's Lambda function asynchronously, as CodeDeploy does: as
// the deployment group's service role when the emulation gives CodeDeploy an identity.
func (s *Server) invokeHook(ctx context.Context, tr *traffic, function, deploymentID, execID string) error {
	client := s.aws.lambda
	if s.cfg.RoleConfig != nil && tr.role != "" {
		cfg, err := s.cfg.RoleConfig(ctx, tr.role)
		if err != nil {
			return failf("IAM_ROLE_PERMISSIONS", "CodeDeploy cannot assume the service role %s: %v", tr.role, err)
		}
		client = lambda.NewFromConfig(cfg)
	}
	payload, _ := json.Marshal(map[string]string{"DeploymentId": deploymentID, "LifecycleEventHookExecutionId": execID})
	_, err := client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: &function, InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload,
	})
	return err
}

// may asks whether the service role may do action on resources, CodeDeploy doing it on
// the group's behalf.
func (s *Server) may(ctx context.Context, tr *traffic, action string, resources ...string) error {
	if s.cfg.Authorize == nil || tr.role == "" {
		return nil
	}
	if err := s.cfg.Authorize(ctx, tr.role, action, resources...); err != nil {
		return failf("IAM_ROLE_PERMISSIONS", "CodeDeploy does not have the permissions required to call %s with the service role %s: %v", action, tr.role, err)
	}
	return nil
}

// mayPassTaskRoles checks iam:PassRole of the new task definition's task and execution
// roles: AWS requires it of the service role for the task set it creates.
func (s *Server) mayPassTaskRoles(ctx context.Context, tr *traffic) error {
	if s.cfg.Authorize == nil || tr.role == "" {
		return nil
	}
	out, err := s.aws.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &tr.newTaskDef})
	if err != nil {
		return nil // CreateTaskSet reports the unknown task definition itself
	}
	var roles []string
	for _, r := range []*string{out.TaskDefinition.TaskRoleArn, out.TaskDefinition.ExecutionRoleArn} {
		if aws.ToString(r) != "" {
			roles = append(roles, *r)
		}
	}
	if len(roles) == 0 {
		return nil
	}
	return s.may(ctx, tr, "iam:PassRole", roles...)
}

func (s *Server) serviceARN(tr *traffic) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", s.cfg.Region, s.cfg.AccountID, tr.cluster, tr.service)
}
