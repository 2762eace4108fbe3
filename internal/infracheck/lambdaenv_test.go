package infracheck_test

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/infracheck"
	"github.com/knowmetools/km-release/lambdas/jobs/jobs"
	"github.com/knowmetools/km-release/lambdas/migrate/hook"
)

// TestLambdaEnvironmentMatchesCode reads the functions' go-envconfig specs by reflection:
// infra must set every required variable, must not set variables the code ignores (a
// typo would be silently dropped), and the values must parse.
func TestLambdaEnvironmentMatchesCode(t *testing.T) {
	m := loadInfra(t)
	cases := []struct {
		output string
		newCfg func() any
	}{
		{"migrate_lambda_name", func() any { return &hook.Config{} }},
		{"jobs_lambda_name", func() any { return &jobs.Config{} }},
	}
	for _, ws := range []string{"staging", "production"} {
		for _, c := range cases {
			t.Run(ws+"/"+c.output, func(t *testing.T) {
				for _, p := range envProblems(t, m, ws, c.output, c.newCfg()) {
					t.Error(p)
				}
			})
		}
	}
}

// The comparison must notice a misspelt variable and a value the code cannot parse.
func TestLambdaEnvironmentMismatchIsCaught(t *testing.T) {
	srcs := readInfra(t)
	for _, mu := range []struct{ old, new, want string }{
		{"      SERVICE      = aws_ecs_service.api.name\n", "      SERVIC       = aws_ecs_service.api.name\n", "requires SERVICE"},
		{"      SERVICE      = aws_ecs_service.api.name\n", "      SERVICE      = aws_ecs_service.api.name\n      SECURITY_GROUP = \"x\"\n", "infra sets SECURITY_GROUP"},
		{"tostring(local.task_assign_public_ip)", "\"ENABLED\"", "cannot parse"},
	} {
		mutated := map[string][]byte{}
		for k, v := range srcs {
			mutated[k] = v
		}
		path := infraDir + "/lambdas.tf"
		if !strings.Contains(string(srcs[path]), mu.old) {
			t.Fatalf("mutation is stale: %q not in lambdas.tf", mu.old)
		}
		mutated[path] = []byte(strings.Replace(string(srcs[path]), mu.old, mu.new, 1))
		m, err := infracheck.Parse(mutated)
		if err != nil {
			t.Fatal(err)
		}
		problems := envProblems(t, m, "staging", "jobs_lambda_name", &jobs.Config{})
		if !strings.Contains(strings.Join(problems, "\n"), mu.want) {
			t.Errorf("%q → %q: want a problem containing %q, got %v", mu.old, mu.new, mu.want, problems)
		}
	}
}

func envProblems(t *testing.T, m *infracheck.Module, ws, output string, cfg any) []string {
	t.Helper()
	env, err := m.FunctionEnvironment(ws, output, "known-after-apply")
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	known, required := envTags(reflect.TypeOf(cfg).Elem())
	for _, name := range required {
		if _, ok := env[name]; !ok {
			problems = append(problems, "the function requires "+name+", infra does not set it")
		}
	}
	for name := range env {
		if !known[name] {
			problems = append(problems, "infra sets "+name+", which the function's Config does not read (known: "+strings.Join(sortedSet(known), ", ")+")")
		}
	}
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: cfg, Lookuper: envconfig.MapLookuper(env)}); err != nil {
		return append(problems, "the function cannot parse infra's environment: "+err.Error())
	}
	if checker, ok := cfg.(interface{ Check() error }); ok {
		if err := checker.Check(); err != nil {
			problems = append(problems, "the function rejects infra's environment: "+err.Error())
		}
	}
	return problems
}

// envTags returns the variable names of a go-envconfig struct (embedded structs
// included) and those marked required.
func envTags(t reflect.Type) (map[string]bool, []string) {
	known := map[string]bool{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				k, r := envTags(f.Type)
				for n := range k {
					known[n] = true
				}
				required = append(required, r...)
			}
			continue
		}
		parts := strings.Split(tag, ",")
		known[parts[0]] = true
		for _, opt := range parts[1:] {
			if opt == "required" {
				required = append(required, parts[0])
			}
		}
	}
	return known, required
}

func sortedSet(s map[string]bool) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
