// Package envtest shares one emulation per test binary for tests that build
// environments with envfixture:
//
//	func TestMain(m *testing.M) { envtest.Main(m) }
//	func TestX(t *testing.T) { env := envtest.Setup(t, envfixture.Options{}) ... }
package envtest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/envfixture"
)

// emulation is the shared emulation's configuration, for ReplacementTasks.
var emulation atomic.Pointer[aws.Config]

// Main is emutest.Main with replacement tasks: deployments start the new revision's
// tasks as emulated ECS tasks, so a task that fails to start fails the deployment.
//
//	func TestMain(m *testing.M) { envtest.Main(m) }
func Main(m *testing.M) {
	emutest.Options.Install = envfixture.ReplacementTasks(func() (aws.Config, error) {
		if cfg := emulation.Load(); cfg != nil {
			return *cfg, nil
		}
		return aws.Config{}, errors.New("envfixture: deployments need an environment from Setup")
	})
	emutest.Main(m)
}

// Setup builds an environment in the test binary's shared emulation, named after the
// test. Options.Name is filled in when empty.
func Setup(t testing.TB, opts envfixture.Options) *envfixture.Env {
	t.Helper()
	emu := emutest.Start(t)
	cfg := emu.AWSConfig()
	emulation.Store(&cfg)
	if opts.Name == "" {
		opts.Name = shortName(emutest.UniqueName(t))
	}
	ctx, cancel := context.WithTimeout(context.Background(), envfixture.Timeout)
	defer cancel()
	env, err := envfixture.New(ctx, emu, opts)
	if err != nil {
		t.Fatalf("build the test environment: %v", err)
	}
	return env
}

// shortName keeps the unique end of a test name within the 20 characters Options.Name
// allows (target group names add "-green" within ELB's 32).
func shortName(unique string) string {
	if len(unique) <= 20 {
		return unique
	}
	return "t" + unique[len(unique)-19:]
}
