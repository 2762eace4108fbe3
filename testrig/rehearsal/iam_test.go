package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// flow is something the product does on the environment, run again with a
// statement missing. It returns what the user is shown (command output, what a
// Lambda answered) and whether it failed.
type flow struct {
	name string
	run  func(ctx context.Context, rig *Rig) (string, error)
}

// flows, cheapest first: a statement is tested with the flows that used it, cheapest
// first.
func flows() []flow {
	return []flow{
		{"kmdeploy status", pipeline("status")},
		{"jobs Lambda", func(ctx context.Context, rig *Rig) (string, error) {
			out, err := lambda.NewFromConfig(rig.Emulator().AWSConfig()).Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String(rig.Resources().JobsFunction), Payload: []byte(`{"id":"iam-check"}`)})
			if err != nil {
				return "", err
			}
			if out.FunctionError != nil {
				err = fmt.Errorf("jobs failed: %s", out.Payload)
			}
			return string(out.Payload), err
		}},
		{"kmdeploy run-task", pipeline("run-task", "--command", "migrate")},
		{"kmdeploy publish-web, twice", func(ctx context.Context, rig *Rig) (string, error) {
			// Each publish changes index.html (so CloudFront is invalidated) and adds a file
			// of its own; with --keep 0 the second prunes the first's. The second also
			// checks the whole bucket (--verify), which lists it.
			var out strings.Builder
			for _, extra := range [][]string{nil, {"--verify"}} {
				o, err := publishChanged(ctx, rig, extra...)
				out.WriteString(o)
				if err != nil {
					return out.String(), err
				}
			}
			return out.String(), nil
		}},
		{"image push", func(ctx context.Context, rig *Rig) (string, error) {
			// New layers, so the push uploads rather than finding everything there.
			img, err := random.Image(1024, 1)
			if err != nil {
				return "", err
			}
			_, err = rig.PushAsPipeline(ctx, img, fmt.Sprint("iam-", time.Now().UnixNano()))
			return "", err
		}},
		{"kmdeploy rollout", func(ctx context.Context, rig *Rig) (string, error) {
			return pipeline("rollout", "--image", rig.Image("v2"))(ctx, rig)
		}},
		{"kmdeploy rollout of a failing migration", func(ctx context.Context, rig *Rig) (string, error) {
			// v3's migration fails: the hook reports why, with the task's last log lines.
			out, code, err := rig.Pipeline(ctx, "rollout", "--image", rig.Image("v3"))
			if err == nil && (code != 1 || !strings.Contains(out, "BeforeInstall failed")) {
				err = fmt.Errorf("kmdeploy rollout of v3 exited %d, want 1 with the failed migration: %s", code, lastLine(out))
			}
			return out, err
		}},
		{"kmdeploy rollback of a deployment in progress", func(ctx context.Context, rig *Rig) (string, error) {
			// Install held long enough for the rollback to find the deployment running.
			rig.Emulator().CodeDeploy().SlowStep("Install", time.Minute)
			defer rig.Emulator().CodeDeploy().SlowStep("Install", 0)
			started, err := pipeline("rollout", "--no-wait", "--image", rig.Image("v2"))(ctx, rig)
			if err != nil {
				return started, err
			}
			out, err := pipeline("rollback")(ctx, rig)
			if err == nil && !strings.Contains(out, "stopping it with rollback") {
				err = fmt.Errorf("kmdeploy rollback did not stop the deployment in progress: %s", lastLine(out))
			}
			return started + out, err
		}},
	}
}

// pipeline is kmdeploy args run as the release workflow runs it; a non-zero exit fails.
func pipeline(args ...string) func(context.Context, *Rig) (string, error) {
	return func(ctx context.Context, rig *Rig) (string, error) {
		out, code, err := rig.Pipeline(ctx, args...)
		if err == nil && code != 0 {
			err = fmt.Errorf("kmdeploy %s exited %d: %s", args[0], code, lastLine(out))
		}
		return out, err
	}
}

// publishChanged publishes the rehearsal's web bundle with index.html changed and a
// file of its own added, keeping no previous release; extra are more flags.
func publishChanged(ctx context.Context, rig *Rig, extra ...string) (string, error) {
	dir, err := os.MkdirTemp("", "web-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, os.DirFS(rig.WebDir())); err != nil {
		return "", err
	}
	version := fmt.Sprint("iam-", time.Now().UnixNano())
	f, err := os.OpenFile(filepath.Join(dir, "index.html"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "<!-- %s -->\n", version)
		f.Close()
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, version+".txt"), []byte(version), 0o644)
	}
	if err != nil {
		return "", err
	}
	return pipeline(append([]string{"publish-web", "--dir", dir, "--version", version, "--keep", "0"}, extra...)...)(ctx, rig)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// statementKey is one statement of one role.
type statementKey struct{ role, sid string }

// everyStatementIsNeeded measures which statement of which role each flow uses, then
// removes each used statement in turn from the applied policy and checks that a flow
// that used it is now denied an action the statement allowed, and either fails or
// tells the user (a best-effort read, e.g. a log tail, may be skipped but not in
// silence). A statement no flow notices is not needed.
func everyStatementIsNeeded(t *testing.T, ctx context.Context, rig *Rig) {
	emu := rig.Emulator()
	// A hook denied the right to report is only noticed when CodeDeploy gives up on it.
	emu.CodeDeploy().SetHookTimeout(20 * time.Second)
	defer emu.CodeDeploy().SetHookTimeout(3 * time.Minute) // the rehearsal's
	users := map[statementKey][]flow{}                     // the flows that used the statement, in order
	actions := map[statementKey][]string{}
	for _, f := range flows() {
		before := len(emu.Decisions())
		if _, err := f.run(ctx, rig); err != nil {
			t.Fatalf("%s with every policy in place: %v", f.name, err)
		}
		for _, d := range emu.Decisions()[before:] {
			k := statementKey{d.Role, d.Sid}
			if !d.Allowed {
				t.Fatalf("%s: %s was denied %s on %s with every policy in place", f.name, d.Role, d.Action, d.Resource)
			}
			if !slices.ContainsFunc(users[k], func(u flow) bool { return u.name == f.name }) {
				users[k] = append(users[k], f)
			}
			if !slices.Contains(actions[k], d.Action) {
				actions[k] = append(actions[k], d.Action)
			}
		}
	}
	client := iam.NewFromConfig(emu.AWSConfig())
	everyGrantIsUsed(t, ctx, client, rig.Resources().Cluster+"-", actions)
	keys := slices.SortedFunc(maps.Keys(users), func(a, b statementKey) int { return strings.Compare(a.role+" "+a.sid, b.role+" "+b.sid) })
	for _, k := range keys {
		sid := k.sid
		if sid == "" {
			sid = "managed-policies"
		}
		t.Run(k.role+"/"+sid, func(t *testing.T) {
			restore, err := removeStatement(ctx, client, k)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := restore(); err != nil {
					t.Fatalf("restore %s of %s: %v", sid, k.role, err)
				}
			}()
			var seen []string
			for _, f := range users[k] {
				before, logged := len(emu.Decisions()), len(rig.LambdaLog())
				out, ferr := f.run(ctx, rig)
				told := out + rig.LambdaLog()[logged:]
				for _, d := range emu.Decisions()[before:] {
					if d.Allowed || d.Role != k.role || !slices.Contains(actions[k], d.Action) {
						continue
					}
					if ferr != nil || strings.Contains(told, d.Action) {
						t.Logf("without %s, %s was denied %s and said so (%v)", sid, f.name, d.Action, ferr)
						return
					}
				}
				seen = append(seen, fmt.Sprintf("%s: %v", f.name, ferr))
			}
			t.Errorf("without statement %s (%s) of role %s, no flow that used it failed or reported a denial of those actions (%s): the statement is not needed, or a denial goes unreported",
				sid, strings.Join(actions[k], ", "), k.role, strings.Join(seen, "; "))
		})
	}
}

// unmeasured are the grants of infra/ no flow of the rehearsal can use, and why they
// stay: "role suffix/Sid" for a statement, "role suffix/Sid/action" for one action.
var unmeasured = map[string]string{
	"-migrate-lambda/OwnLogs":                      "Lambda writes the function's own logs; the emulation runs handlers in-process",
	"-jobs-lambda/OwnLogs":                         "Lambda writes the function's own logs; the emulation runs handlers in-process",
	"-api-task/MediaBucket":                        "the sample API does not use the media bucket; Know Me's API does",
	"-api-task/MediaObjects":                       "the sample API does not use the media bucket; Know Me's API does",
	"-github-actions/StateObjects/s3:PutObject":    "terraform apply writes the state; the pipeline applies with github_actions_extra_policy_arns, the rehearsal as the administrator",
	"-github-actions/StateObjects/s3:DeleteObject": "terraform apply removes its lock file (use_lockfile); as above",
}

// everyGrantIsUsed checks the other way round: every statement and action the
// environment's roles are granted inline was used by some flow, unless unmeasured
// says why not.
func everyGrantIsUsed(t *testing.T, ctx context.Context, client *iam.Client, prefix string, used map[statementKey][]string) {
	roles, err := client.ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range roles.Roles {
		name := aws.ToString(role.RoleName)
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		suffix := name[len(prefix)-1:]
		policies, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role.RoleName})
		if err != nil {
			t.Fatal(err)
		}
		for _, policy := range policies.PolicyNames {
			doc, err := inlinePolicy(ctx, client, name, policy)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range doc.Statement {
				sid, _ := st["Sid"].(string)
				k := statementKey{name, sid}
				if _, why := unmeasured[suffix+"/"+sid]; why {
					continue
				}
				if used[k] == nil {
					t.Errorf("role %s: statement %q was never used by the rehearsal's flows: remove it from infra/, or say in unmeasured why it stays", name, sid)
					continue
				}
				for _, action := range actionsOf(st) {
					_, why := unmeasured[suffix+"/"+sid+"/"+action]
					if !why && !strings.Contains(action, "*") && !slices.Contains(used[k], action) {
						t.Errorf("role %s: %s of statement %q was never used by the rehearsal's flows: remove it from infra/, or say in unmeasured why it stays", name, action, sid)
					}
				}
			}
		}
	}
}

// policyDocument is an IAM policy as IAM returns it.
type policyDocument struct {
	Version   string
	Statement []map[string]any
}

// inlinePolicy reads a role's inline policy, returning the document as IAM has it.
func inlinePolicy(ctx context.Context, client *iam.Client, role, name string) (policyDocument, error) {
	var doc policyDocument
	p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
	if err != nil {
		return doc, err
	}
	raw, err := url.QueryUnescape(aws.ToString(p.PolicyDocument))
	if err == nil {
		err = json.Unmarshal([]byte(raw), &doc)
	}
	return doc, err
}

// actionsOf is a statement's Action, one string or a list.
func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// removeStatement takes statement k out of the role's inline policy (or, for AWS
// managed policies' statements, which have no Sid, detaches those policies) and
// returns how to put it back.
func removeStatement(ctx context.Context, client *iam.Client, k statementKey) (func() error, error) {
	if k.sid == "" { // AWS managed policies' statements have no Sid: detach them all
		attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(k.role)})
		if err != nil {
			return nil, err
		}
		for _, p := range attached.AttachedPolicies {
			if _, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(k.role), PolicyArn: p.PolicyArn}); err != nil {
				return nil, err
			}
		}
		return func() error {
			for _, p := range attached.AttachedPolicies {
				if _, err := client.AttachRolePolicy(context.WithoutCancel(ctx), &iam.AttachRolePolicyInput{RoleName: aws.String(k.role), PolicyArn: p.PolicyArn}); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(k.role)})
	if err != nil {
		return nil, err
	}
	for _, name := range names.PolicyNames {
		doc, err := inlinePolicy(ctx, client, k.role, name)
		if err != nil {
			return nil, err
		}
		original, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		kept := slices.DeleteFunc(slices.Clone(doc.Statement), func(st map[string]any) bool { return st["Sid"] == k.sid })
		if len(kept) == len(doc.Statement) {
			continue
		}
		if len(kept) == 0 { // IAM refuses a policy without statements
			if _, err := client.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(k.role), PolicyName: aws.String(name)}); err != nil {
				return nil, err
			}
		} else {
			doc.Statement = kept
			reduced, _ := json.Marshal(doc)
			if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(k.role), PolicyName: aws.String(name), PolicyDocument: aws.String(string(reduced))}); err != nil {
				return nil, err
			}
		}
		return func() error {
			_, err := client.PutRolePolicy(context.WithoutCancel(ctx), &iam.PutRolePolicyInput{RoleName: aws.String(k.role), PolicyName: aws.String(name), PolicyDocument: aws.String(string(original))})
			return err
		}, nil
	}
	return nil, fmt.Errorf("role %s has no inline statement %s", k.role, k.sid)
}
