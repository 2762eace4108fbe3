package terraform_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/internal/terraform"
)

func TestWorkspaceCreatedThenSelected(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	var noWS *terraform.NoWorkspaceError
	if _, err := f.runner(t, "staging", nil).Outputs(c); !errors.As(err, &noWS) || noWS.Workspace != "staging" {
		t.Fatalf("outputs of a never-applied environment: want NoWorkspaceError, got %v", err)
	}
	for _, ws := range []string{"staging", "qa-1"} {
		if _, err := f.runner(t, ws, nil).AutoApply(c, terraform.Guard{}); err != nil {
			t.Fatalf("%s: %v", ws, err)
		}
	}
	// A fresh data dir (a new CI container) selects the existing workspace.
	if err := os.RemoveAll(terraform.WorkspaceDir(f.dir, "staging")); err != nil {
		t.Fatal(err)
	}
	if got := outputString(t, f.runner(t, "staging", nil), "cluster_name"); got != `"km-staging"` {
		t.Errorf("staging cluster_name = %s", got)
	}
	if got := outputString(t, f.runner(t, "qa-1", nil), "cluster_name"); got != `"km-qa-1"` {
		t.Errorf("qa-1 cluster_name = %s", got)
	}
	for _, ws := range []string{"staging", "qa-1"} {
		if _, err := os.Stat(filepath.Join(f.stateDir, ws, "terraform.tfstate")); err != nil {
			t.Errorf("state of workspace %s: %v", ws, err)
		}
	}
}

func TestPlanSummaryAndApplySavedPlan(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	r := f.runner(t, "staging", map[string]string{"db_password": "first-secret-pw"})
	res, err := r.Plan(c, "", terraform.Guard{})
	if err != nil {
		t.Fatal(err)
	}
	if add, change, replace, destroy := res.Summary.Counts(); add != 3 || change+replace+destroy != 0 {
		t.Errorf("counts: %d %d %d %d", add, change, replace, destroy)
	}
	if _, err := os.Stat(res.Path); err != nil || !strings.HasPrefix(res.Path, terraform.WorkspaceDir(f.dir, "staging")) {
		t.Errorf("saved plan %s: %v", res.Path, err)
	}
	var b strings.Builder
	res.Summary.Write(&b)
	text := b.String()
	for _, want := range []string{"Plan: 3 to add, 0 to change, 0 to replace, 0 to destroy.", "+   terraform_data.app (create)",
		"+   terraform_data.db (create)", "output.db_password = (sensitive)"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if _, err := r.Apply(c, "", terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res.Path); !os.IsNotExist(err) {
		t.Errorf("applied plan still on disk: %v", err)
	}
	if got := outputString(t, r, "service_name"); got != `"api-v1"` {
		t.Errorf("service_name = %s", got)
	}

	// An update and a secret change: the secret shows as (sensitive), never its value.
	r2 := f.runner(t, "staging", map[string]string{"label": "v2", "db_password": "second-secret-pw"})
	res, err = r2.Plan(c, "", terraform.Guard{})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	res.Summary.Write(&b)
	text = b.String()
	for _, want := range []string{"Plan: 0 to add, 2 to change", `input: "v1" -> "v2"`, "input: (sensitive) -> (sensitive)"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "secret-pw") {
		t.Errorf("summary shows a secret:\n%s", text)
	}
	if _, err := r2.Apply(c, "", terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	if got := outputString(t, r2, "service_name"); got != `"api-v2"` {
		t.Errorf("service_name after update = %s", got)
	}
}

func TestApplyRefusesStalePlan(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	if _, err := f.runner(t, "staging", nil).AutoApply(c, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(t.TempDir(), "first.tfplan")
	second := filepath.Join(t.TempDir(), "second.tfplan")
	if _, err := f.runner(t, "staging", map[string]string{"label": "a"}).Plan(c, first, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner(t, "staging", map[string]string{"label": "b"}).Plan(c, second, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	r := f.runner(t, "staging", nil)
	if _, err := r.Apply(c, first, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	_, err := r.Apply(c, second, terraform.Guard{})
	var stale *terraform.StalePlanError
	if !errors.As(err, &stale) {
		t.Fatalf("want StalePlanError, got %v", err)
	}
	if !strings.Contains(err.Error(), "Run `kmdeploy infra plan` again") {
		t.Errorf("message: %v", err)
	}
	if got := outputString(t, r, "service_name"); got != `"api-a"` {
		t.Errorf("stale plan changed state: service_name = %s", got)
	}
}

func TestApplyRefusesPlanForAnotherWorkspace(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	plan := filepath.Join(t.TempDir(), "staging.tfplan")
	if _, err := f.runner(t, "staging", nil).Plan(c, plan, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.runner(t, "production", nil).Apply(c, plan, terraform.Guard{})
	var mismatch *terraform.PlanMismatchError
	if !errors.As(err, &mismatch) || mismatch.Field != "workspace" || mismatch.Plan != "staging" {
		t.Fatalf("want workspace mismatch, got %v", err)
	}
	// A tampered plan file is refused too.
	if err := os.WriteFile(plan, []byte("not a plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner(t, "staging", nil).Apply(c, plan, terraform.Guard{}); !errors.As(err, &mismatch) || mismatch.Field != "plan file checksum" {
		t.Fatalf("want checksum mismatch, got %v", err)
	}
	var noPlan *terraform.NoPlanError
	if _, err := f.runner(t, "staging", nil).Apply(c, filepath.Join(t.TempDir(), "none"), terraform.Guard{}); !errors.As(err, &noPlan) {
		t.Fatalf("want NoPlanError, got %v", err)
	}
}

func TestGuardRefusesReplaceOfProtectedResource(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	guard := terraform.Guard{Addresses: []string{"terraform_data.db"}}
	if _, err := f.runner(t, "staging", nil).AutoApply(c, guard); err != nil {
		t.Fatal(err)
	}
	r := f.runner(t, "staging", map[string]string{"db_generation": "2", "label": "v2"})
	res, err := r.Plan(c, "", guard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) != 1 || res.Refused[0].Address != "terraform_data.db" || res.Refused[0].Action != terraform.ActionReplace {
		t.Errorf("plan should flag the replace: %+v", res.Refused)
	}
	_, err = r.Apply(c, "", guard)
	var gerr *terraform.GuardError
	if !errors.As(err, &gerr) || !slices.Equal(gerr.Addresses(), []string{"terraform_data.db"}) {
		t.Fatalf("want GuardError naming terraform_data.db, got %v", err)
	}
	for _, want := range []string{"docs/runbooks.md", "--allow-destroy=terraform_data.db", "Nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if got := outputString(t, r, "service_name"); got != `"api-v1"` {
		t.Errorf("refused plan changed something: service_name = %s", got)
	}

	// The override lets exactly that address through.
	guard.Allow = []string{"terraform_data.db"}
	res, err = r.Apply(c, "", guard)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Allowed) != 1 || len(res.Refused) != 0 {
		t.Errorf("allowed %+v refused %+v", res.Allowed, res.Refused)
	}
	if got := outputString(t, r, "service_name"); got != `"api-v2"` {
		t.Errorf("service_name after override = %s", got)
	}
}

func TestDriftDetected(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	if _, err := f.runner(t, "staging", nil).AutoApply(c, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner(t, "staging", nil).Drift(c); err != nil {
		t.Fatalf("no drift expected right after apply: %v", err)
	}
	_, err := f.runner(t, "staging", map[string]string{"label": "changed"}).Drift(c)
	var drift *terraform.DriftError
	if !errors.As(err, &drift) || !slices.Equal(drift.Report.Addresses(), []string{"terraform_data.app"}) {
		t.Fatalf("want drift of terraform_data.app, got %v", err)
	}
	var noWS *terraform.NoWorkspaceError
	if _, err := f.runner(t, "never-applied", nil).Drift(c); !errors.As(err, &noWS) {
		t.Fatalf("drift of a missing workspace: want NoWorkspaceError, got %v", err)
	}
}

func TestFindBinaryClearError(t *testing.T) {
	_, err := terraform.FindBinary("/nonexistent/terraform")
	var nf *terraform.NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "KM_TF_BINARY") {
		t.Fatalf("got %v", err)
	}
}
