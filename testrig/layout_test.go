// Package testrig_test checks the rule the repository's layout shows: the product
// (cmd/kmdeploy, lambdas/, internal/) ships without the test rig (testrig/), and the
// rig's programs are programs, not tests.
package testrig_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/knowmetools/km-release"

// goList runs `go list` from the module root (one level up) and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestProductNeverImportsTheRig(t *testing.T) {
	// Non-test imports only: a product package's tests may use the rig.
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./cmd/...", "./lambdas/...", "./internal/...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, module+"/testrig") {
				t.Errorf("%s imports the test rig (%s): product code must not depend on testrig/", pkg, imp)
			}
		}
	}
}

func TestRigProgramsDoNotLinkTesting(t *testing.T) {
	programs := goList(t, "./testrig/cmd/...")
	for _, want := range []string{"rehearse", "rehearse-dagger"} {
		if !slices.Contains(programs, module+"/testrig/cmd/"+want) {
			t.Errorf("testrig/cmd/%s is missing from %v", want, programs)
		}
	}
	for _, program := range programs {
		if slices.Contains(goList(t, "-deps", program), "testing") {
			t.Errorf("%s links package testing: keep testing helpers in packages of their own (like emutest, envtest)", program)
		}
	}
}
