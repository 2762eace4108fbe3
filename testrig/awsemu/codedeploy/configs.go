package codedeploy

import (
	"slices"
	"strings"
	"time"
)

func init() {
	handle("GetDeploymentConfig", (*Server).getDeploymentConfig)
	handle("ListDeploymentConfigs", (*Server).listDeploymentConfigs)
	handle("CreateDeploymentConfig", (*Server).createDeploymentConfig)
	handle("DeleteDeploymentConfig", (*Server).deleteDeploymentConfig)
}

// builtinConfigs are CodeDeploy's predefined ECS deployment configurations.
var builtinConfigs = map[string]*trafficRoutingConfig{
	"CodeDeployDefault.ECSAllAtOnce":                    {Type: "AllAtOnce"},
	"CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {Type: "TimeBasedLinear", TimeBasedLinear: &timeBasedLinear{LinearPercentage: 10, LinearInterval: 1}},
	"CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {Type: "TimeBasedLinear", TimeBasedLinear: &timeBasedLinear{LinearPercentage: 10, LinearInterval: 3}},
	"CodeDeployDefault.ECSCanary10Percent5Minutes":      {Type: "TimeBasedCanary", TimeBasedCanary: &timeBasedCanary{CanaryPercentage: 10, CanaryInterval: 5}},
	"CodeDeployDefault.ECSCanary10Percent15Minutes":     {Type: "TimeBasedCanary", TimeBasedCanary: &timeBasedCanary{CanaryPercentage: 10, CanaryInterval: 15}},
}

// builtinEpoch is a fixed creation time for the predefined configurations.
var builtinEpoch = time.Date(2018, 11, 27, 0, 0, 0, 0, time.UTC)

func (s *Server) configLocked(name string) (*deploymentConfigInfo, *APIError) {
	if name == "" {
		return nil, invalid("DeploymentConfigNameRequiredException", "The deployment config name must be specified.")
	}
	if trc, ok := builtinConfigs[name]; ok {
		return &deploymentConfigInfo{
			DeploymentConfigID: name, DeploymentConfigName: name, ComputePlatform: "ECS",
			CreateTime: at(builtinEpoch), TrafficRoutingConfig: trc,
		}, nil
	}
	if c, ok := s.state.configs[name]; ok {
		return c, nil
	}
	if strings.HasPrefix(name, "CodeDeployDefault.") && !strings.HasPrefix(name, "CodeDeployDefault.ECS") {
		return nil, invalid("InvalidDeploymentConfigNameException", "The deployment config %s is not an ECS configuration; the emulation serves the CodeDeployDefault.ECS* configurations.", name)
	}
	return nil, invalid("DeploymentConfigDoesNotExistException", "No deployment configuration found for name: %s", name)
}

func (s *Server) getDeploymentConfig(in *struct {
	DeploymentConfigName string `json:"deploymentConfigName"`
}) (any, *APIError) {
	c, err := s.configLocked(in.DeploymentConfigName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deploymentConfigInfo": c}, nil
}

func (s *Server) listDeploymentConfigs(_ *struct{}) (any, *APIError) {
	names := []string{}
	for n := range builtinConfigs {
		names = append(names, n)
	}
	for n := range s.state.configs {
		names = append(names, n)
	}
	slices.Sort(names)
	return map[string]any{"deploymentConfigsList": names}, nil
}

func (s *Server) createDeploymentConfig(in *struct {
	DeploymentConfigName string                `json:"deploymentConfigName"`
	ComputePlatform      string                `json:"computePlatform"`
	TrafficRoutingConfig *trafficRoutingConfig `json:"trafficRoutingConfig"`
	MinimumHealthyHosts  *minimumHealthyHosts  `json:"minimumHealthyHosts"`
}) (any, *APIError) {
	if in.DeploymentConfigName == "" {
		return nil, invalid("DeploymentConfigNameRequiredException", "The deployment config name must be specified.")
	}
	if _, err := s.configLocked(in.DeploymentConfigName); err == nil {
		return nil, invalid("DeploymentConfigAlreadyExistsException", "A deployment configuration named %s already exists.", in.DeploymentConfigName)
	}
	trc := in.TrafficRoutingConfig
	if in.ComputePlatform == "ECS" {
		if trc == nil {
			return nil, invalid("InvalidTrafficRoutingConfigurationException", "An ECS deployment configuration needs trafficRoutingConfig.")
		}
		switch {
		case trc.Type == "AllAtOnce":
		case trc.Type == "TimeBasedCanary" && trc.TimeBasedCanary != nil && trc.TimeBasedCanary.CanaryPercentage > 0 && trc.TimeBasedCanary.CanaryPercentage < 100:
		case trc.Type == "TimeBasedLinear" && trc.TimeBasedLinear != nil && trc.TimeBasedLinear.LinearPercentage > 0 && trc.TimeBasedLinear.LinearPercentage < 100:
		default:
			return nil, invalid("InvalidTrafficRoutingConfigurationException", "trafficRoutingConfig needs type AllAtOnce, or TimeBasedCanary/TimeBasedLinear with a percentage between 1 and 99.")
		}
	}
	c := &deploymentConfigInfo{
		DeploymentConfigID: newUUID(), DeploymentConfigName: in.DeploymentConfigName,
		ComputePlatform: in.ComputePlatform, CreateTime: at(time.Now()),
		TrafficRoutingConfig: trc, MinimumHealthyHosts: in.MinimumHealthyHosts,
	}
	if c.ComputePlatform == "" {
		c.ComputePlatform = "Server"
	}
	s.state.configs[c.DeploymentConfigName] = c
	return map[string]string{"deploymentConfigId": c.DeploymentConfigID}, nil
}

func (s *Server) deleteDeploymentConfig(in *struct {
	DeploymentConfigName string `json:"deploymentConfigName"`
}) (any, *APIError) {
	if _, ok := builtinConfigs[in.DeploymentConfigName]; ok {
		return nil, invalid("InvalidOperationException", "The predefined deployment configuration %s cannot be deleted.", in.DeploymentConfigName)
	}
	for _, g := range s.state.groups {
		if g.DeploymentConfigName == in.DeploymentConfigName {
			return nil, invalid("DeploymentConfigInUseException", "The deployment configuration %s is used by deployment group %s.", in.DeploymentConfigName, g.DeploymentGroupName)
		}
	}
	delete(s.state.configs, in.DeploymentConfigName)
	return nil, nil
}
