package infracheck

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Finding is one violation of a check, with where it is and what to do about it.
type Finding struct {
	Check   string
	Range   hcl.Range
	Message string
}

func (f Finding) String() string {
	if f.Range.Filename == "" {
		return fmt.Sprintf("[%s] %s", f.Check, f.Message)
	}
	return fmt.Sprintf("%s:%d: [%s] %s", f.Range.Filename, f.Range.Start.Line, f.Check, f.Message)
}

// Check is one static policy over the configuration.
type Check struct {
	Name string
	Run  func(*Module) []Finding
}

type report struct {
	check string
	out   []Finding
}

func (r *report) add(rng hcl.Range, format string, args ...any) {
	r.out = append(r.out, Finding{Check: r.check, Range: rng, Message: fmt.Sprintf(format, args...)})
}

// secretName matches names that must be treated as secrets.
var secretName = regexp.MustCompile(`(?i)(password|secret|token|key)`)

// Checks returns every check. requiredOutputs are the outputs consumers read (kmdeploy's
// config.Resources tags, see OutputTags).
func Checks(requiredOutputs []string) []Check {
	return []Check{
		{"backend", CheckBackend},
		{"references", CheckReferences},
		{"outputs", RequiredOutputs(requiredOutputs)},
		{"output-secrets", CheckOutputSecrets},
		{"variables", CheckVariables},
		{"sensitive-variables", CheckSensitiveVariables},
		{"world-ingress", CheckWorldIngress},
		{"database", CheckDatabase},
		{"environment-protection", CheckEnvironmentProtection},
		{"ecs-blue-green", CheckBlueGreen},
		{"task-secrets", CheckTaskSecrets},
		{"buckets-private", CheckBucketsPrivate},
		{"cloudfront-oac", CheckCloudFront},
		{"lambda-iam", CheckLambdaIAM},
		{"lambda-contract", CheckLambdaContract},
		{"ci-oidc", CheckCIOIDC},
	}
}

// Run runs every check.
func Run(m *Module, requiredOutputs []string) []Finding {
	var out []Finding
	for _, c := range Checks(requiredOutputs) {
		out = append(out, c.Run(m)...)
	}
	return out
}

// ---- value helpers -------------------------------------------------------------------

// known reports whether v is fully known and not null.
func known(v cty.Value) bool { return v.IsWhollyKnown() && !v.IsNull() }

func isTrue(v cty.Value) bool  { return known(v) && v.Type() == cty.Bool && v.True() }
func isFalse(v cty.Value) bool { return known(v) && v.Type() == cty.Bool && v.False() }

// strings returns the string elements of a known list, set or tuple (or a single string).
func stringsOf(v cty.Value) ([]string, bool) {
	if !known(v) {
		return nil, false
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}, true
	}
	if !v.CanIterateElements() {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !known(e) || e.Type() != cty.String {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

func numberOf(v cty.Value) (float64, bool) {
	if !known(v) || v.Type() != cty.Number {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	return f, true
}
