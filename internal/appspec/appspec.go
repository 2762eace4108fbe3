// Package appspec models the CodeDeploy AppSpec of an Amazon ECS blue/green deployment:
// it renders one (YAML or JSON), parses one from a deployment's revision, and validates
// it with errors that say what to fix.
package appspec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Version is the only AppSpec version CodeDeploy accepts for ECS.
const Version = "0.0"

// ECSServiceType is the resource type of an ECS target service.
const ECSServiceType = "AWS::ECS::Service"

// Lifecycle events an ECS deployment can hook, in the order CodeDeploy runs them.
const (
	BeforeInstall         = "BeforeInstall"
	AfterInstall          = "AfterInstall"
	AfterAllowTestTraffic = "AfterAllowTestTraffic"
	BeforeAllowTraffic    = "BeforeAllowTraffic"
	AfterAllowTraffic     = "AfterAllowTraffic"
)

// Events lists the hookable ECS lifecycle events in execution order.
var Events = []string{BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic}

// AppSpec is an ECS AppSpec file. Field names follow the AppSpec reference exactly; the
// json tags are also read by goccy/go-yaml, so one set of names serves both formats.
type AppSpec struct {
	Version   VersionString `json:"version"`
	Resources []Resource    `json:"Resources"`
	Hooks     []Hook        `json:"Hooks,omitempty"`
}

// Resource is one entry of Resources; ECS deployments have exactly one TargetService.
type Resource struct {
	TargetService *TargetService `json:"TargetService,omitempty"`
}

// TargetService is the ECS service being deployed.
type TargetService struct {
	Type       string     `json:"Type"`
	Properties Properties `json:"Properties"`
}

// Properties describe the replacement task set.
type Properties struct {
	TaskDefinition           string                     `json:"TaskDefinition"`
	LoadBalancerInfo         LoadBalancerInfo           `json:"LoadBalancerInfo"`
	PlatformVersion          string                     `json:"PlatformVersion,omitempty"`
	NetworkConfiguration     *NetworkConfiguration      `json:"NetworkConfiguration,omitempty"`
	CapacityProviderStrategy []CapacityProviderStrategy `json:"CapacityProviderStrategy,omitempty"`
}

// LoadBalancerInfo names the container and port the target groups route to.
type LoadBalancerInfo struct {
	ContainerName string `json:"ContainerName"`
	ContainerPort int32  `json:"ContainerPort"`
}

// NetworkConfiguration is the awsvpc configuration of the replacement tasks.
type NetworkConfiguration struct {
	AwsvpcConfiguration AwsvpcConfiguration `json:"AwsvpcConfiguration"`
}

// AwsvpcConfiguration: AssignPublicIp is "ENABLED" or "DISABLED".
type AwsvpcConfiguration struct {
	Subnets        []string `json:"Subnets"`
	SecurityGroups []string `json:"SecurityGroups,omitempty"`
	AssignPublicIp string   `json:"AssignPublicIp,omitempty"`
}

// CapacityProviderStrategy is one capacity provider entry of the replacement task set.
type CapacityProviderStrategy struct {
	CapacityProvider string `json:"CapacityProvider"`
	Base             int32  `json:"Base,omitempty"`
	Weight           int32  `json:"Weight,omitempty"`
}

// Hook binds a lifecycle event to the Lambda function (name or ARN) CodeDeploy invokes.
// In the file it is a single-key map: `- BeforeInstall: fn`.
type Hook struct {
	Event    string
	Function string
}

// ECSService describes the service for New.
type ECSService struct {
	TaskDefinition  string // task definition ARN of the new revision
	ContainerName   string
	ContainerPort   int32
	PlatformVersion string // optional, e.g. "LATEST"
	// Network is optional: the service's own configuration is used when nil.
	Network *AwsvpcConfiguration
	Hooks   []Hook
}

// New builds the AppSpec of one ECS deployment and validates it.
func New(s ECSService) (*AppSpec, error) {
	spec := &AppSpec{
		Version: Version,
		Resources: []Resource{{TargetService: &TargetService{
			Type: ECSServiceType,
			Properties: Properties{
				TaskDefinition:   s.TaskDefinition,
				LoadBalancerInfo: LoadBalancerInfo{ContainerName: s.ContainerName, ContainerPort: s.ContainerPort},
				PlatformVersion:  s.PlatformVersion,
			},
		}}},
		Hooks: s.Hooks,
	}
	if s.Network != nil {
		spec.Resources[0].TargetService.Properties.NetworkConfiguration = &NetworkConfiguration{AwsvpcConfiguration: *s.Network}
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	return spec, nil
}

// Target returns the single ECS target service (nil when the spec has none).
func (a *AppSpec) Target() *TargetService {
	for _, r := range a.Resources {
		if r.TargetService != nil {
			return r.TargetService
		}
	}
	return nil
}

// TaskDefinition returns the task definition of the replacement task set ("" when absent).
func (a *AppSpec) TaskDefinition() string {
	if t := a.Target(); t != nil {
		return t.Properties.TaskDefinition
	}
	return ""
}

// HookFunction returns the function bound to event, if any.
func (a *AppSpec) HookFunction(event string) (string, bool) {
	for _, h := range a.Hooks {
		if h.Event == event {
			return h.Function, true
		}
	}
	return "", false
}

// ValidationError lists every problem found in an AppSpec.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid ECS AppSpec: " + strings.Join(e.Problems, "; ")
}

// Validate checks what CodeDeploy would reject for an ECS deployment, and returns a
// *ValidationError listing all problems.
func (a *AppSpec) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if string(a.Version) != Version {
		add("version is %q, it must be %s", a.Version, Version)
	}
	switch n := len(a.Resources); {
	case n == 0:
		add("Resources is empty: add one TargetService of Type %s", ECSServiceType)
	case n > 1:
		add("Resources has %d entries: an ECS deployment has exactly one TargetService", n)
	}
	for i, r := range a.Resources {
		t := r.TargetService
		if t == nil {
			add("Resources[%d] has no TargetService", i)
			continue
		}
		if t.Type != ECSServiceType {
			add("Resources[%d].TargetService.Type is %q, it must be %s", i, t.Type, ECSServiceType)
		}
		pr := t.Properties
		switch {
		case pr.TaskDefinition == "":
			add("Resources[%d] TaskDefinition is empty: set the new task definition ARN", i)
		case strings.HasPrefix(pr.TaskDefinition, "<"):
			add("Resources[%d] TaskDefinition is the placeholder %q: substitute the registered task definition ARN", i, pr.TaskDefinition)
		}
		if pr.LoadBalancerInfo.ContainerName == "" {
			add("Resources[%d] LoadBalancerInfo.ContainerName is empty: name the container the load balancer routes to", i)
		}
		if pr.LoadBalancerInfo.ContainerPort < 1 || pr.LoadBalancerInfo.ContainerPort > 65535 {
			add("Resources[%d] LoadBalancerInfo.ContainerPort %d is not a port (1-65535)", i, pr.LoadBalancerInfo.ContainerPort)
		}
		if nc := pr.NetworkConfiguration; nc != nil {
			if len(nc.AwsvpcConfiguration.Subnets) == 0 {
				add("Resources[%d] NetworkConfiguration has no Subnets", i)
			}
			switch nc.AwsvpcConfiguration.AssignPublicIp {
			case "", "ENABLED", "DISABLED":
			default:
				add("Resources[%d] AssignPublicIp is %q, it must be ENABLED or DISABLED", i, nc.AwsvpcConfiguration.AssignPublicIp)
			}
		}
	}
	seen := map[string]bool{}
	for i, h := range a.Hooks {
		if !slices.Contains(Events, h.Event) {
			add("Hooks[%d] event %q is not an ECS lifecycle event (one of %s)", i, h.Event, strings.Join(Events, ", "))
		}
		if h.Function == "" {
			add("Hooks[%d] (%s) names no Lambda function", i, h.Event)
		}
		if seen[h.Event] {
			add("Hooks[%d]: event %s is hooked twice", i, h.Event)
		}
		seen[h.Event] = true
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// ErrNoContent is returned when a revision carries no AppSpec text.
var ErrNoContent = errors.New("the revision has no AppSpec content")
