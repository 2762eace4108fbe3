package rehearsal

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRehearsal is `make rehearse` as a test: the real infra/ applies and then shows
// neither changes nor drift, the three releases, the Terraform change, the web publish
// and the jobs behave as the rehearsal expects, and nothing keeps running afterwards.
func TestRehearsal(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// While the environment is up: least privilege, statement by statement.
	tl, err := Run(ctx, Options{ModuleDir: root, Out: &out, Then: func(ctx context.Context, rig *Rig) error {
		everyStatementIsNeeded(t, ctx, rig)
		return nil
	}})
	if tl != nil {
		var b bytes.Buffer
		tl.Write(&b)
		t.Logf("timeline:\n%s", b.String())
	}
	if err != nil {
		t.Logf("rehearsal output:\n%s", out.String())
		t.Fatalf("rehearsal: %v", err)
	}
	var names []string
	for _, s := range tl.Steps {
		names = append(names, s.Name)
		if s.Failed {
			t.Errorf("step %s failed without failing the run", s.Name)
		}
	}
	for _, want := range []string{"kmdeploy infra apply (infra/, real AWS provider)", "no changes, no drift after the apply", "release v1",
		"release v2", "release v3 (failing migration)", "a Terraform change reaches the service", "background jobs", "kmdeploy status", "least privilege, measured", "teardown"} {
		if !slices.Contains(names, want) {
			t.Errorf("timeline lacks step %q (has %q)", want, names)
		}
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left running after the rehearsal: %v", kids)
	}
}

// children lists the test process's child process IDs.
func children(t *testing.T) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("cannot list child processes through /proc: %v", err)
	}
	var kids []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		kids = append(kids, strings.Fields(string(b))...)
	}
	return kids
}

func TestTimelineWrite(t *testing.T) {
	tl := &Timeline{Steps: []Step{{Name: "release v1", Duration: 1200 * time.Millisecond, Outcome: "ok line"}, {Name: "release v3", Duration: time.Second, Outcome: "boom\nsecond", Failed: true}}, Total: 3 * time.Second}
	var b bytes.Buffer
	tl.Write(&b)
	got := b.String()
	for _, want := range []string{"release v1", "1.2s", "ok: ok line", "FAILED: boom second", "total"} {
		if !strings.Contains(got, want) {
			t.Errorf("timeline %q lacks %q", got, want)
		}
	}
	if !tl.Failed() {
		t.Error("a timeline with a failed step says it did not fail")
	}
}
