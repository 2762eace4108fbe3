package terraform_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/internal/terraform"
)

// The database runbook: forget the old instance (it keeps running), adopt the new one.
func TestForgetThenAdoptKeepsTheResourceOutOfAndBackIntoState(t *testing.T) {
	f := newFixture(t)
	c := ctx(t)
	r := f.runner(t, "staging", nil)
	if _, err := r.AutoApply(c, terraform.Guard{}); err != nil {
		t.Fatal(err)
	}
	before, err := r.StateAddresses(c)
	if err != nil || !slices.Equal(before, []string{"terraform_data.app", "terraform_data.db", "terraform_data.token"}) {
		t.Fatalf("state before: %v, %v", before, err)
	}
	if err := r.Forget(c, "terraform_data.db"); err != nil {
		t.Fatal(err)
	}
	after, _ := r.StateAddresses(c)
	if !slices.Equal(after, []string{"terraform_data.app", "terraform_data.token"}) {
		t.Fatalf("state after forget: %v", after)
	}
	if err := r.Forget(c, "terraform_data.db"); err == nil || !strings.Contains(err.Error(), "not in workspace staging's state") {
		t.Fatalf("forgetting twice: err = %v", err)
	}
	if err := r.Adopt(c, "terraform_data.db", "4a0f9c5e-1111-2222-3333-444455556666"); err != nil {
		t.Fatal(err)
	}
	adopted, _ := r.StateAddresses(c)
	if !slices.Equal(adopted, before) {
		t.Fatalf("state after adopt: %v", adopted)
	}
}
