package main

import (
	"strings"
	"testing"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

// TestMain shares one AWS emulation across the command tests (see emuEnv).
func TestMain(m *testing.M) { emutest.Main(m) }

// emuEnv is the environment of a command run against the shared emulation, with every
// resource name taken from KM_* variables (extra) so Terraform is not needed.
func emuEnv(t *testing.T, extra map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{"KM_ENV": "test", "KM_RESOURCES_FROM": "env"}
	for _, kv := range emutest.Start(t).Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}
