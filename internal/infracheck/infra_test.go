package infracheck_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/infracheck"
)

const infraDir = "../../infra"

func loadInfra(t *testing.T) *infracheck.Module {
	t.Helper()
	m, err := infracheck.Load(infraDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInfra runs every check against infra/: each subtest is one policy of the issue.
func TestInfra(t *testing.T) {
	m := loadInfra(t)
	required := infracheck.OutputTags(config.Resources{})
	for _, c := range infracheck.Checks(required) {
		t.Run(c.Name, func(t *testing.T) {
			for _, f := range c.Run(m) {
				t.Error(f)
			}
		})
	}
}

// The required outputs come from config.Resources by reflection, so a new field there
// without an output here fails TestInfra/outputs.
func TestOutputTagsReadConfigResources(t *testing.T) {
	tags := infracheck.OutputTags(&config.Resources{})
	if len(tags) < 10 {
		t.Fatalf("only %d output tags found on config.Resources: %v", len(tags), tags)
	}
	for _, want := range []string{"cluster_name", "service_name", "web_bucket_name", "cloudfront_distribution_id"} {
		if !slices.Contains(tags, want) {
			t.Errorf("output tag %q not found in %v", want, tags)
		}
	}
	m := loadInfra(t)
	findings := infracheck.RequiredOutputs(append(tags, "an_output_nobody_defined"))(m)
	if len(findings) != 1 || !strings.Contains(findings[0].Message, "an_output_nobody_defined") {
		t.Errorf("a missing output must be reported exactly once, got %v", findings)
	}
}

func TestTerraformFmt(t *testing.T) {
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("terraform is not on PATH: install Terraform >= 1.10 (the fmt check needs the real binary)")
	}
	out, err := exec.Command(bin, "fmt", "-check", "-recursive", "-diff", infraDir).CombinedOutput()
	if err != nil {
		t.Fatalf("terraform fmt -check failed (run terraform fmt -recursive infra): %v\n%s", err, out)
	}
}
