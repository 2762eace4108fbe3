package awsemu

import (
	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
)

// newCodeDeploy mounts the CodeDeploy ECS blue/green emulation: it changes services and
// listeners in moto directly and invokes hook Lambdas through the front end, so the
// product's in-process handlers run.
func newCodeDeploy(e *Emulator) *codedeploy.Server {
	return codedeploy.New(codedeploy.Config{
		Backend:     e.backend,
		Front:       e.AWSConfig(),
		AccountID:   AccountID,
		Region:      DefaultRegion,
		HookTimeout: e.opts.HookTimeout,
		StepDelay:   e.opts.DeploymentStepDelay,
		Minute:      e.opts.DeploymentMinute,
		Install:     e.opts.Install,
		Logf:        e.opts.Logf,
	})
}

// CodeDeploy is the CodeDeploy emulation, for its failure injection (FailNextHook,
// TimeoutNextHook, SlowStep, SetHookTimeout).
func (e *Emulator) CodeDeploy() *codedeploy.Server { return e.cd }
