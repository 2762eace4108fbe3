package codedeploy

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

func init() {
	handle("CreateDeploymentGroup", (*Server).createDeploymentGroup)
	handle("GetDeploymentGroup", (*Server).getDeploymentGroup)
	handle("BatchGetDeploymentGroups", (*Server).batchGetDeploymentGroups)
	handle("ListDeploymentGroups", (*Server).listDeploymentGroups)
	handle("UpdateDeploymentGroup", (*Server).updateDeploymentGroup)
	handle("DeleteDeploymentGroup", (*Server).deleteDeploymentGroup)
}

type createGroupInput struct {
	ApplicationName     string `json:"applicationName"`
	DeploymentGroupName string `json:"deploymentGroupName"`
	Tags                []tag  `json:"tags"`
	groupSettings
}

func (s *Server) createDeploymentGroup(in *createGroupInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if in.DeploymentGroupName == "" {
		return nil, invalid("DeploymentGroupNameRequiredException", "The deployment group name must be specified.")
	}
	key := groupKey(in.ApplicationName, in.DeploymentGroupName)
	if _, ok := s.state.groups[key]; ok {
		return nil, invalid("DeploymentGroupAlreadyExistsException", "The deployment group %s already exists for application %s.", in.DeploymentGroupName, in.ApplicationName)
	}
	g := &deploymentGroupInfo{
		ApplicationName:     in.ApplicationName,
		DeploymentGroupID:   newUUID(),
		DeploymentGroupName: in.DeploymentGroupName,
		ComputePlatform:     a.info.ComputePlatform,
		groupSettings:       in.groupSettings,
	}
	if err := s.validateGroupLocked(g); err != nil {
		return nil, err
	}
	s.state.groups[key] = g
	s.setTagsLocked(s.arn("deploymentgroup", in.ApplicationName+"/"+in.DeploymentGroupName), in.Tags)
	return map[string]string{"deploymentGroupId": g.DeploymentGroupID}, nil
}

// validateGroupLocked applies defaults and checks an ECS blue/green group the way
// CodeDeploy does on create and update.
func (s *Server) validateGroupLocked(g *deploymentGroupInfo) *APIError {
	if g.ComputePlatform != "ECS" {
		return invalid("InvalidComputePlatformException", "The CodeDeploy emulation implements the ECS compute platform only; application %s is %s.", g.ApplicationName, g.ComputePlatform)
	}
	if g.ServiceRoleArn == "" {
		return invalid("RoleRequiredException", "A service role ARN is required for the deployment group %s.", g.DeploymentGroupName)
	}
	if !strings.HasPrefix(g.ServiceRoleArn, "arn:") {
		return invalid("InvalidRoleException", "The service role %q is not a valid ARN.", g.ServiceRoleArn)
	}
	if g.DeploymentConfigName == "" {
		g.DeploymentConfigName = "CodeDeployDefault.ECSAllAtOnce"
	}
	cfg, err := s.configLocked(g.DeploymentConfigName)
	if err != nil {
		return err
	}
	if cfg.ComputePlatform != "ECS" {
		return invalid("InvalidDeploymentConfigNameException", "The deployment config %s is for %s; an ECS deployment group needs an ECS deployment config.", cfg.DeploymentConfigName, cfg.ComputePlatform)
	}
	st := g.DeploymentStyle
	if st == nil || st.DeploymentType != "BLUE_GREEN" || st.DeploymentOption != "WITH_TRAFFIC_CONTROL" {
		return invalid("InvalidDeploymentStyleException", "ECS deployment groups need deploymentStyle {deploymentType: BLUE_GREEN, deploymentOption: WITH_TRAFFIC_CONTROL}.")
	}
	if len(g.EcsServices) != 1 || g.EcsServices[0].ClusterName == "" || g.EcsServices[0].ServiceName == "" {
		return invalid("InvalidECSServiceException", "An ECS deployment group needs exactly one ecsServices entry with clusterName and serviceName.")
	}
	for _, other := range s.state.groups {
		if other.DeploymentGroupName == g.DeploymentGroupName && other.ApplicationName == g.ApplicationName {
			continue
		}
		if len(other.EcsServices) == 1 && other.EcsServices[0] == g.EcsServices[0] {
			return invalid("ECSServiceMappingLimitExceededException", "The ECS service %s in cluster %s is already associated with deployment group %s of application %s.",
				g.EcsServices[0].ServiceName, g.EcsServices[0].ClusterName, other.DeploymentGroupName, other.ApplicationName)
		}
	}
	lb := g.LoadBalancerInfo
	if lb == nil || len(lb.TargetGroupPairInfoList) != 1 {
		return invalid("InvalidTargetGroupPairException", "An ECS deployment group needs loadBalancerInfo.targetGroupPairInfoList with one entry.")
	}
	pair := lb.TargetGroupPairInfoList[0]
	if len(pair.TargetGroups) != 2 || pair.TargetGroups[0].Name == "" || pair.TargetGroups[1].Name == "" || pair.TargetGroups[0].Name == pair.TargetGroups[1].Name {
		return invalid("InvalidTargetGroupPairException", "The target group pair needs two different target group names.")
	}
	if pair.ProdTrafficRoute == nil || len(pair.ProdTrafficRoute.ListenerArns) != 1 {
		return invalid("InvalidTargetGroupPairException", "The target group pair needs prodTrafficRoute with exactly one listener ARN.")
	}
	if pair.TestTrafficRoute != nil && len(pair.TestTrafficRoute.ListenerArns) > 1 {
		return invalid("InvalidTargetGroupPairException", "The target group pair's testTrafficRoute takes at most one listener ARN.")
	}
	bg := g.BlueGreenDeploymentConfiguration
	if bg == nil {
		return invalid("InvalidBlueGreenDeploymentConfigurationException", "An ECS deployment group needs blueGreenDeploymentConfiguration.")
	}
	if bg.TerminateBlueInstancesOnDeploymentSuccess == nil {
		bg.TerminateBlueInstancesOnDeploymentSuccess = &terminateOption{Action: "TERMINATE"}
	}
	if t := bg.TerminateBlueInstancesOnDeploymentSuccess; t.Action == "" {
		t.Action = "TERMINATE"
	} else if t.Action != "TERMINATE" && t.Action != "KEEP_ALIVE" {
		return invalid("InvalidBlueGreenDeploymentConfigurationException", "terminateBlueInstancesOnDeploymentSuccess.action %q is not TERMINATE or KEEP_ALIVE.", t.Action)
	}
	if bg.DeploymentReadyOption == nil {
		bg.DeploymentReadyOption = &readyOption{ActionOnTimeout: "CONTINUE_DEPLOYMENT"}
	}
	if r := bg.DeploymentReadyOption; r.ActionOnTimeout == "" {
		r.ActionOnTimeout = "CONTINUE_DEPLOYMENT"
	} else if r.ActionOnTimeout != "CONTINUE_DEPLOYMENT" && r.ActionOnTimeout != "STOP_DEPLOYMENT" {
		return invalid("InvalidDeploymentReadyOptionException", "deploymentReadyOption.actionOnTimeout %q is not CONTINUE_DEPLOYMENT or STOP_DEPLOYMENT.", r.ActionOnTimeout)
	}
	if ar := g.AutoRollbackConfiguration; ar != nil {
		for _, e := range ar.Events {
			if !slices.Contains([]string{"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"}, e) {
				return invalid("InvalidAutoRollbackConfigException", "Auto rollback event %q is not DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM or DEPLOYMENT_STOP_ON_REQUEST.", e)
			}
		}
		if ar.Enabled && len(ar.Events) == 0 {
			return invalid("InvalidAutoRollbackConfigException", "Auto rollback is enabled but no events are specified.")
		}
	}
	return nil
}

func (s *Server) groupLocked(app, name string) (*deploymentGroupInfo, *APIError) {
	if _, err := s.appLocked(app); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, invalid("DeploymentGroupNameRequiredException", "The deployment group name must be specified.")
	}
	g, ok := s.state.groups[groupKey(app, name)]
	if !ok {
		return nil, invalid("DeploymentGroupDoesNotExistException", "No Deployment Group found for name: %s", name)
	}
	return g, nil
}

type groupNameInput struct {
	ApplicationName     string `json:"applicationName"`
	DeploymentGroupName string `json:"deploymentGroupName"`
}

func (s *Server) getDeploymentGroup(in *groupNameInput) (any, *APIError) {
	g, err := s.groupLocked(in.ApplicationName, in.DeploymentGroupName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentGroupInfo": g}, nil
}

func (s *Server) batchGetDeploymentGroups(in *struct {
	ApplicationName      string   `json:"applicationName"`
	DeploymentGroupNames []string `json:"deploymentGroupNames"`
}) (any, *APIError) {
	if _, err := s.appLocked(in.ApplicationName); err != nil {
		return nil, err
	}
	out := []*deploymentGroupInfo{}
	var missing []string
	for _, n := range in.DeploymentGroupNames {
		if g, ok := s.state.groups[groupKey(in.ApplicationName, n)]; ok {
			out = append(out, g)
		} else {
			missing = append(missing, n)
		}
	}
	res := map[string]any{"deploymentGroupsInfo": out}
	if len(missing) > 0 {
		res["errorMessage"] = fmt.Sprintf("Deployment groups not found: %s", strings.Join(missing, ", "))
	}
	return res, nil
}

func (s *Server) listDeploymentGroups(in *applicationNameInput) (any, *APIError) {
	if _, err := s.appLocked(in.ApplicationName); err != nil {
		return nil, err
	}
	names := []string{}
	for _, g := range s.state.groups {
		if g.ApplicationName == in.ApplicationName {
			names = append(names, g.DeploymentGroupName)
		}
	}
	slices.Sort(names)
	return map[string]any{"applicationName": in.ApplicationName, "deploymentGroups": names}, nil
}

// updateGroupInput: nil members leave the group's setting unchanged.
type updateGroupInput struct {
	ApplicationName                  string            `json:"applicationName"`
	CurrentDeploymentGroupName       string            `json:"currentDeploymentGroupName"`
	NewDeploymentGroupName           string            `json:"newDeploymentGroupName"`
	DeploymentConfigName             *string           `json:"deploymentConfigName"`
	ServiceRoleArn                   *string           `json:"serviceRoleArn"`
	EcsServices                      []ecsService      `json:"ecsServices"`
	LoadBalancerInfo                 *loadBalancerInfo `json:"loadBalancerInfo"`
	BlueGreenDeploymentConfiguration *blueGreenConfig  `json:"blueGreenDeploymentConfiguration"`
	AutoRollbackConfiguration        *autoRollback     `json:"autoRollbackConfiguration"`
	DeploymentStyle                  *deploymentStyle  `json:"deploymentStyle"`
	AlarmConfiguration               any               `json:"alarmConfiguration"`
	TriggerConfigurations            []any             `json:"triggerConfigurations"`
	OutdatedInstancesStrategy        *string           `json:"outdatedInstancesStrategy"`
}

func (s *Server) updateDeploymentGroup(in *updateGroupInput) (any, *APIError) {
	g, err := s.groupLocked(in.ApplicationName, in.CurrentDeploymentGroupName)
	if err != nil {
		return nil, err
	}
	n := *g
	if in.NewDeploymentGroupName != "" && in.NewDeploymentGroupName != g.DeploymentGroupName {
		if _, ok := s.state.groups[groupKey(in.ApplicationName, in.NewDeploymentGroupName)]; ok {
			return nil, invalid("DeploymentGroupAlreadyExistsException", "The deployment group %s already exists for application %s.", in.NewDeploymentGroupName, in.ApplicationName)
		}
		n.DeploymentGroupName = in.NewDeploymentGroupName
	}
	if in.DeploymentConfigName != nil {
		n.DeploymentConfigName = *in.DeploymentConfigName
	}
	if in.ServiceRoleArn != nil {
		n.ServiceRoleArn = *in.ServiceRoleArn
	}
	if in.EcsServices != nil {
		n.EcsServices = in.EcsServices
	}
	if in.LoadBalancerInfo != nil {
		n.LoadBalancerInfo = in.LoadBalancerInfo
	}
	if in.BlueGreenDeploymentConfiguration != nil {
		n.BlueGreenDeploymentConfiguration = in.BlueGreenDeploymentConfiguration
	}
	if in.AutoRollbackConfiguration != nil {
		n.AutoRollbackConfiguration = in.AutoRollbackConfiguration
	}
	if in.DeploymentStyle != nil {
		n.DeploymentStyle = in.DeploymentStyle
	}
	if in.AlarmConfiguration != nil {
		n.AlarmConfiguration = in.AlarmConfiguration
	}
	if in.TriggerConfigurations != nil {
		n.TriggerConfigurations = in.TriggerConfigurations
	}
	if in.OutdatedInstancesStrategy != nil {
		n.OutdatedInstancesStrategy = *in.OutdatedInstancesStrategy
	}
	if err := s.validateGroupLocked(&n); err != nil {
		return nil, err
	}
	delete(s.state.groups, groupKey(g.ApplicationName, g.DeploymentGroupName))
	s.state.groups[groupKey(n.ApplicationName, n.DeploymentGroupName)] = &n
	return map[string]any{"hooksNotCleanedUp": []any{}}, nil
}

func (s *Server) deleteDeploymentGroup(in *groupNameInput) (any, *APIError) {
	if _, err := s.groupLocked(in.ApplicationName, in.DeploymentGroupName); err != nil {
		if err.Type == "DeploymentGroupDoesNotExistException" {
			return map[string]any{"hooksNotCleanedUp": []any{}}, nil
		}
		return nil, err
	}
	delete(s.state.groups, groupKey(in.ApplicationName, in.DeploymentGroupName))
	return map[string]any{"hooksNotCleanedUp": []any{}}, nil
}

// markGroupLocked updates the group's last attempted/successful deployment.
func (s *Server) markGroupLocked(d *deployment) {
	g, ok := s.state.groups[groupKey(d.info.ApplicationName, d.info.DeploymentGroupName)]
	if !ok {
		return
	}
	var end time.Time
	if d.info.CompleteTime != nil {
		end = time.Time(*d.info.CompleteTime)
	}
	last := &lastDeploymentInfo{DeploymentID: d.info.DeploymentID, Status: d.info.Status, CreateTime: d.info.CreateTime, EndTime: at(end)}
	g.LastAttemptedDeployment = last
	if d.info.Status == stSucceeded {
		g.LastSuccessfulDeployment = last
		if d.info.Revision != nil {
			rev := *d.info.Revision
			g.TargetRevision = &rev
		}
	}
}
