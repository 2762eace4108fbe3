package terraform

import (
	"fmt"
	"strings"
)

// NotFoundError says no Terraform executable could be found.
type NotFoundError struct {
	Tried []string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no Terraform executable found (tried %s): install terraform (>= 1.11) or OpenTofu, or set KM_TF_BINARY to its path", strings.Join(e.Tried, ", "))
}

// NoWorkspaceError says the environment's workspace does not exist yet and the
// operation does not create it.
type NoWorkspaceError struct {
	Workspace string
}

func (e *NoWorkspaceError) Error() string {
	return fmt.Sprintf("terraform workspace %q does not exist yet: run `kmdeploy infra apply --auto-plan` for this environment first", e.Workspace)
}

// NoPlanError says there is no saved plan to apply.
type NoPlanError struct {
	Path string
}

func (e *NoPlanError) Error() string {
	return fmt.Sprintf("no saved plan at %s: run `kmdeploy infra plan` first, or use `kmdeploy infra apply --auto-plan`", e.Path)
}

// StalePlanError says the state changed since the plan was made, so Terraform
// refused it; nothing was changed.
type StalePlanError struct {
	Path string
	Err  error
}

func (e *StalePlanError) Error() string {
	return fmt.Sprintf("saved plan %s is stale: the state changed since it was made (another apply ran); nothing was changed. Run `kmdeploy infra plan` again, review, then apply", e.Path)
}

func (e *StalePlanError) Unwrap() error { return e.Err }

// PlanMismatchError says a saved plan was made for another workspace, backend or
// configuration than the one it is being applied to.
type PlanMismatchError struct {
	Path   string
	Field  string
	Plan   string
	Target string
}

func (e *PlanMismatchError) Error() string {
	return fmt.Sprintf("saved plan %s was made for %s %q, not %q: refusing to apply it; run `kmdeploy infra plan` for this environment", e.Path, e.Field, e.Plan, e.Target)
}

// GuardError says the plan would destroy or replace protected (stateful)
// resources; nothing was changed.
type GuardError struct {
	Violations []Violation
	Runbook    string
}

func (e *GuardError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to apply: the plan would destroy or replace %d protected resource(s) holding data:", len(e.Violations))
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\n  - %s (%s; %s)", v.Address, v.Action, v.Reason)
	}
	fmt.Fprintf(&b, "\nNothing was changed. Follow the data migration runbook in %s; if the loss is intended, re-run with --allow-destroy=%s", e.Runbook, strings.Join(e.Addresses(), ","))
	return b.String()
}

// Addresses lists the refused resource addresses.
func (e *GuardError) Addresses() []string {
	out := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		out[i] = v.Address
	}
	return out
}

// DriftError says live infrastructure differs from the configuration and state.
type DriftError struct {
	Report *Summary
}

func (e *DriftError) Error() string {
	addrs := e.Report.Addresses()
	return fmt.Sprintf("drift: %d resource(s) differ from the configuration: %s", len(addrs), strings.Join(addrs, ", "))
}

// LockedError says another run holds the state lock and did not release it within
// the lock timeout.
type LockedError struct {
	Err error
}

func (e *LockedError) Error() string {
	return "the Terraform state is locked by another run (see Lock Info below); wait for it and retry, raise KM_TF_LOCK_TIMEOUT, or, if that run crashed, remove the lock with `terraform force-unlock <ID>` in the workspace: " + e.Err.Error()
}

func (e *LockedError) Unwrap() error { return e.Err }
