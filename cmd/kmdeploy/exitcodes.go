package main

import (
	"context"
	"errors"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/ecstask"
	"github.com/knowmetools/km-release/internal/rollout"
	"github.com/knowmetools/km-release/internal/terraform"
	"github.com/knowmetools/km-release/internal/webpublish"
)

// The exit codes of every kmdeploy command: one contract, documented in
// docs/configuration.md ("Exit codes"), which a test keeps in step with this table.
const (
	exitOK       = 0   // done
	exitFailed   = 1   // the operation ran and failed (a deployment, Terraform, AWS)
	exitUsage    = 2   // bad flags, arguments or configuration; nothing was changed
	exitDrift    = 3   // infra drift: the live infrastructure differs from the configuration
	exitRefused  = 4   // infra apply: the destroy/replace guard refused the plan
	exitNeverRan = 125 // run-task: the container never ran (failed to start)
	exitDetached = 130 // interrupted (Ctrl-C): kmdeploy stopped waiting; AWS carries on
)

// exitCodes describes the contract, in the order the documentation lists it.
var exitCodes = []struct {
	Code    int
	Meaning string
}{
	{exitOK, "success"},
	{exitFailed, "the operation failed (a deployment, a Terraform run, an AWS call); what failed and why is printed"},
	{exitUsage, "bad flags, arguments or configuration (every problem at once); nothing was changed"},
	{exitDrift, "`infra drift`: the live infrastructure differs from the configuration"},
	{exitRefused, "`infra apply`: the destroy/replace guard refused the plan; nothing was changed"},
	{exitNeverRan, "`run-task`: the container never ran (it failed to start)"},
	{exitDetached, "interrupted (Ctrl-C): kmdeploy stopped waiting; a deployment or task goes on in AWS"},
}

// run-task otherwise exits with the task's own exit code (taskExitError).

// taskExitError carries a one-off task's non-zero exit code, which run-task exits with.
type taskExitError struct {
	Code int
	Err  error
}

func (e *taskExitError) Error() string { return e.Err.Error() }
func (e *taskExitError) Unwrap() error { return e.Err }

// usageError is a mistake in the command line that cobra itself found (unknown
// command or flag, a flag value that does not parse, wrong arguments).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() + " (see kmdeploy --help)" }
func (e *usageError) Unwrap() error { return e.err }

// exitCode maps an error to the contract.
func exitCode(err error) int {
	var (
		task      *taskExitError
		usage     *usageError
		cfgErr    *config.Error
		rolloutIn *rollout.ConfigError
		taskIn    *ecstask.InputError
		noTF      *terraform.NotFoundError
		noWS      *terraform.NoWorkspaceError
		drift     *terraform.DriftError
		guard     *terraform.GuardError
		detached  *rollout.DetachedError
		bundle    *webpublish.BundleError
		webInput  *webpublish.ConfigError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &task):
		return task.Code
	case errors.As(err, &usage), errors.As(err, &cfgErr), errors.As(err, &rolloutIn), errors.As(err, &taskIn),
		errors.As(err, &noTF), errors.As(err, &noWS), errors.As(err, &bundle), errors.As(err, &webInput):
		return exitUsage
	case errors.As(err, &drift):
		return exitDrift
	case errors.As(err, &guard):
		return exitRefused
	case errors.As(err, &detached), errors.Is(err, context.Canceled):
		return exitDetached
	}
	return exitFailed
}
