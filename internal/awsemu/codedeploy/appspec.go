package codedeploy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// appSpec is what the emulation needs from an ECS AppSpec (YAML or JSON; JSON is YAML).
type appSpec struct {
	TaskDefinition  string
	ContainerName   string
	ContainerPort   int32
	PlatformVersion string
	Subnets         []string
	SecurityGroups  []string
	AssignPublicIP  string
	// Hooks maps a lifecycle event to its Lambda functions, in AppSpec order.
	Hooks map[string][]string
}

type rawAppSpec struct {
	Version   any                      `yaml:"version"`
	Resources []map[string]rawResource `yaml:"Resources"`
	Hooks     []map[string]string      `yaml:"Hooks"`
}

type rawResource struct {
	Type       string `yaml:"Type"`
	Properties struct {
		TaskDefinition   string `yaml:"TaskDefinition"`
		PlatformVersion  string `yaml:"PlatformVersion"`
		LoadBalancerInfo struct {
			ContainerName string `yaml:"ContainerName"`
			ContainerPort any    `yaml:"ContainerPort"`
		} `yaml:"LoadBalancerInfo"`
		NetworkConfiguration struct {
			AwsvpcConfiguration struct {
				Subnets        []string `yaml:"Subnets"`
				SecurityGroups []string `yaml:"SecurityGroups"`
				AssignPublicIP string   `yaml:"AssignPublicIp"`
			} `yaml:"AwsvpcConfiguration"`
		} `yaml:"NetworkConfiguration"`
	} `yaml:"Properties"`
}

// hookEvents are the lifecycle events of an ECS deployment that may carry hooks.
var hookEvents = map[string]bool{
	evBeforeInstall: true, evAfterInstall: true, evAfterAllowTestTraffic: true,
	evBeforeAllowTraffic: true, evAfterAllowTraffic: true,
}

// parseAppSpec validates an ECS AppSpec the way CodeDeploy does before a deployment
// starts; its errors become InvalidRevisionException messages.
func parseAppSpec(content string) (*appSpec, error) {
	if strings.TrimSpace(content) == "" {
		return nil, errors.New("the AppSpec content is empty")
	}
	var raw rawAppSpec
	if err := yaml.Unmarshal([]byte(content), &raw); err != nil {
		return nil, fmt.Errorf("the AppSpec is neither valid YAML nor JSON: %s", firstLine(err.Error()))
	}
	if len(raw.Resources) != 1 || len(raw.Resources[0]) != 1 {
		return nil, errors.New("the AppSpec must list exactly one resource under Resources (TargetService of Type AWS::ECS::Service)")
	}
	var res rawResource
	for _, r := range raw.Resources[0] {
		res = r
	}
	if res.Type != "AWS::ECS::Service" {
		return nil, fmt.Errorf("the AppSpec resource has Type %q; an ECS deployment needs AWS::ECS::Service", res.Type)
	}
	p := res.Properties
	if p.TaskDefinition == "" {
		return nil, errors.New("the AppSpec resource has no Properties.TaskDefinition")
	}
	lb := p.LoadBalancerInfo
	if lb.ContainerName == "" {
		return nil, errors.New("the AppSpec resource has no Properties.LoadBalancerInfo.ContainerName")
	}
	port, err := portOf(lb.ContainerPort)
	if err != nil {
		return nil, err
	}
	spec := &appSpec{
		TaskDefinition:  p.TaskDefinition,
		ContainerName:   lb.ContainerName,
		ContainerPort:   port,
		PlatformVersion: p.PlatformVersion,
		Subnets:         p.NetworkConfiguration.AwsvpcConfiguration.Subnets,
		SecurityGroups:  p.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups,
		AssignPublicIP:  p.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIP,
		Hooks:           map[string][]string{},
	}
	for _, h := range raw.Hooks {
		for event, fn := range h {
			if !hookEvents[event] {
				return nil, fmt.Errorf("the AppSpec names hook event %q; ECS deployments allow BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic and AfterAllowTraffic", event)
			}
			if fn == "" {
				return nil, fmt.Errorf("the AppSpec hook %s names no Lambda function", event)
			}
			spec.Hooks[event] = append(spec.Hooks[event], fn)
		}
	}
	return spec, nil
}

func portOf(v any) (int32, error) {
	var n int64
	switch p := v.(type) {
	case nil:
		return 0, errors.New("the AppSpec resource has no Properties.LoadBalancerInfo.ContainerPort")
	case uint64:
		n = int64(p)
	case int64:
		n = p
	case int:
		n = int64(p)
	case float64:
		n = int64(p)
	case string:
		var err error
		if n, err = strconv.ParseInt(p, 10, 32); err != nil {
			return 0, fmt.Errorf("the AppSpec ContainerPort %q is not a number", p)
		}
	default:
		return 0, fmt.Errorf("the AppSpec ContainerPort %v is not a number", v)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("the AppSpec ContainerPort %d is outside 1-65535", n)
	}
	return int32(n), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
