package infracheck

import (
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// OutputTags returns the `output:"…"` tags of a struct (such as config.Resources): the
// Terraform outputs its loader reads.
func OutputTags(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		if tag, ok := t.Field(i).Tag.Lookup("output"); ok && tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// CheckBackend: state in S3 with a partial backend block (bucket, key and locking given
// at init), and a Terraform version that supports use_lockfile.
func CheckBackend(m *Module) []Finding {
	r := &report{check: "backend"}
	var tf *Block
	for _, b := range m.Others {
		if b.Type == "terraform" {
			tf = b
		}
	}
	if tf == nil {
		r.add(hcl.Range{}, "no terraform block: add one with required_version, required_providers and backend \"s3\" {}")
		return r.out
	}
	if tf.Attr("required_version") == nil {
		r.add(tf.Range, "terraform block has no required_version: require >= 1.10 (S3 backend use_lockfile)")
	}
	var backend *hclsyntax.Block
	for _, blk := range tf.Body.Blocks {
		if blk.Type == "backend" {
			backend = blk
		}
	}
	switch {
	case backend == nil || len(backend.Labels) != 1 || backend.Labels[0] != "s3":
		r.add(tf.Range, "no backend \"s3\" block: state must live in the S3 state bucket, one object per workspace")
	case len(backend.Body.Attributes) > 0 || len(backend.Body.Blocks) > 0:
		r.add(backend.DefRange(), "backend \"s3\" must stay a partial configuration (empty body): bucket, key, region and use_lockfile are given at init with -backend-config, so one configuration serves every account")
	}
	var providers *hclsyntax.Block
	for _, blk := range tf.Body.Blocks {
		if blk.Type == "required_providers" {
			providers = blk
		}
	}
	if providers == nil || providers.Body.Attributes["aws"] == nil {
		r.add(tf.Range, "required_providers must pin hashicorp/aws")
	}
	return r.out
}

// CheckReferences: every var., local., data. and resource reference points at something
// declared; the part of `terraform validate` that needs no provider.
func CheckReferences(m *Module) []Finding {
	r := &report{check: "references"}
	exists := func(ref Ref) bool {
		switch ref.Kind {
		case "var":
			return m.Variables[strings.TrimPrefix(ref.Key, "var.")] != nil
		case "local":
			return m.Locals[strings.TrimPrefix(ref.Key, "local.")] != nil
		case "data":
			return m.Data[strings.TrimPrefix(ref.Key, "data.")] != nil
		case "resource":
			return m.Resources[ref.Key] != nil
		}
		return true
	}
	checkExpr := func(e hcl.Expression) {
		for _, ref := range Refs(e) {
			if !exists(ref) {
				r.add(ref.Range, "%s is not declared", ref.Key)
			}
		}
	}
	var blocks []*Block
	for _, group := range []map[string]*Block{m.Variables, m.Outputs, m.Resources, m.Data} {
		for _, k := range sortedKeys(group) {
			blocks = append(blocks, group[k])
		}
	}
	blocks = append(blocks, m.Others...)
	for _, b := range blocks {
		allExpressions(b.Body, func(a *hclsyntax.Attribute) {
			if a.Name == "ignore_changes" {
				return // names attributes of the resource itself, not references
			}
			if b.Type == "moved" && a.Name == "from" {
				return // the old address: gone from the configuration by definition
			}
			checkExpr(a.Expr)
		})
	}
	for _, name := range sortedKeys(m.Locals) {
		checkExpr(m.Locals[name].Expr)
	}
	return r.out
}

// RequiredOutputs: every output the consumers read is defined and described.
func RequiredOutputs(required []string) func(*Module) []Finding {
	return func(m *Module) []Finding {
		r := &report{check: "outputs"}
		if len(required) == 0 {
			r.add(hcl.Range{}, "no required outputs given: pass the output tags of config.Resources")
		}
		for _, name := range required {
			if m.Outputs[name] == nil {
				r.add(hcl.Range{Filename: "outputs.tf"}, "output %q is missing: kmdeploy reads it (config.Resources); add it to outputs.tf", name)
			}
		}
		for _, name := range sortedKeys(m.Outputs) {
			o := m.Outputs[name]
			if d := o.Attr("description"); d == nil {
				r.add(o.Range, "output %q has no description", name)
			}
			if o.Attr("value") == nil {
				r.add(o.Range, "output %q has no value", name)
			}
		}
		return r.out
	}
}

// CheckOutputSecrets: no output carries a generated password, a secret's value or a
// sensitive variable; consumers get secret ARNs instead.
func CheckOutputSecrets(m *Module) []Finding {
	r := &report{check: "output-secrets"}
	for _, name := range sortedKeys(m.Outputs) {
		o := m.Outputs[name]
		v := o.Attr("value")
		if v == nil {
			continue
		}
		for _, ref := range m.DeepRefs(v.Expr) {
			if secretSource(m, ref) {
				r.add(ref.Range, "output %q exposes %s: output the secret's ARN instead, consumers read the value from Secrets Manager", name, ref.Key)
			}
		}
	}
	return r.out
}

// secretSource reports whether a reference yields secret material.
func secretSource(m *Module, ref Ref) bool {
	switch {
	case ref.Kind == "resource" && (strings.HasPrefix(ref.Key, "random_password.") ||
		strings.HasPrefix(ref.Key, "aws_secretsmanager_secret_version.") ||
		strings.HasPrefix(ref.Key, "aws_ssm_parameter.")):
		return true
	case ref.Kind == "data" && (strings.HasPrefix(ref.Key, "data.aws_secretsmanager_secret_version.") ||
		strings.HasPrefix(ref.Key, "data.aws_ssm_parameter.")):
		return true
	case ref.Kind == "var":
		v := m.Variables[strings.TrimPrefix(ref.Key, "var.")]
		return v != nil && literalTrue(v.Attr("sensitive"))
	}
	return false
}

func literalTrue(a *hclsyntax.Attribute) bool {
	if a == nil {
		return false
	}
	v, diags := a.Expr.Value(nil)
	return !diags.HasErrors() && isTrue(v)
}

// CheckVariables: every variable says what it is for and what type it takes.
func CheckVariables(m *Module) []Finding {
	r := &report{check: "variables"}
	for _, name := range sortedKeys(m.Variables) {
		v := m.Variables[name]
		d := v.Attr("description")
		if d == nil {
			r.add(v.Range, "variable %q has no description", name)
		} else if val, diags := d.Expr.Value(nil); diags.HasErrors() || !known(val) || val.Type() != cty.String || strings.TrimSpace(val.AsString()) == "" {
			r.add(d.SrcRange, "variable %q: description must be a non-empty string", name)
		}
		if v.Attr("type") == nil {
			r.add(v.Range, "variable %q has no type", name)
		}
	}
	return r.out
}

// CheckSensitiveVariables: variables whose names say they hold secrets are marked
// sensitive, so plans and logs redact them.
func CheckSensitiveVariables(m *Module) []Finding {
	r := &report{check: "sensitive-variables"}
	for _, name := range sortedKeys(m.Variables) {
		v := m.Variables[name]
		if secretName.MatchString(name) && !literalTrue(v.Attr("sensitive")) {
			r.add(v.Range, "variable %q looks like a secret (password/secret/token/key): add sensitive = true", name)
		}
	}
	return r.out
}
