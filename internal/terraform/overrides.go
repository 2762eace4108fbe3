package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// kmdeploy adapts a configuration to its run through override files it writes into the
// configuration directory (and keeps out of version control): the backend
// (backend.go), the AWS providers' endpoint settings, and the sensitivity of secret
// variables.
//
// Secret input variables (Options.IsSecretVar) are hidden two ways:
//   - their new values by the redactor, and, through an override file marking them
//     sensitive, by Terraform itself (also in everything derived from them);
//   - their old values, which only the state still holds, by reading from the state
//     the attributes whose expressions depend on them and adding those values to the
//     redactor before Terraform prints anything.

// SensitiveOverrideFileName is the file kmdeploy writes in the configuration directory
// to mark the variables it treats as secret sensitive. Terraform then also refuses an
// output that would expose one without being marked sensitive.
const SensitiveOverrideFileName = "kmdeploy_sensitive_override.tf"

// module is what kmdeploy reads of a root module's configuration.
type module struct {
	variables []string
	// awsProviders are the aliases of the root module's provider "aws" blocks ("" for
	// the default configuration).
	awsProviders []string
	locals       map[string]hcl.Expression
	resources    map[string]*hclsyntax.Body // "type.name" of managed resources
}

// readModule parses the configuration in dir. Override files are skipped (they only
// refine declarations), and so are the resources and locals of JSON files.
func readModule(dir string) (*module, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := &module{locals: map[string]hcl.Expression{}, resources: map[string]*hclsyntax.Body{}}
	parser := hclparse.NewParser()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || isOverrideFile(name) {
			continue
		}
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".tf"):
			f, diags := parser.ParseHCLFile(path)
			if diags.HasErrors() {
				return nil, fmt.Errorf("reading %s: %s", name, diags.Error())
			}
			m.addNative(f.Body.(*hclsyntax.Body))
		case strings.HasSuffix(name, ".tf.json"):
			f, diags := parser.ParseJSONFile(path)
			if diags.HasErrors() {
				return nil, fmt.Errorf("reading %s: %s", name, diags.Error())
			}
			content, _, _ := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}}})
			for _, b := range content.Blocks {
				m.variables = append(m.variables, b.Labels[0])
			}
		}
	}
	slices.Sort(m.variables)
	return m, nil
}

func (m *module) addNative(body *hclsyntax.Body) {
	for _, b := range body.Blocks {
		switch {
		case b.Type == "variable" && len(b.Labels) == 1:
			m.variables = append(m.variables, b.Labels[0])
		case b.Type == "locals":
			for name, a := range b.Body.Attributes {
				m.locals[name] = a.Expr
			}
		case b.Type == "resource" && len(b.Labels) == 2:
			m.resources[b.Labels[0]+"."+b.Labels[1]] = b.Body
		case b.Type == "provider" && len(b.Labels) == 1 && b.Labels[0] == "aws":
			alias := ""
			if a, ok := b.Body.Attributes["alias"]; ok {
				if v, diags := a.Expr.Value(nil); !diags.HasErrors() && v.Type() == cty.String {
					alias = v.AsString()
				}
			}
			m.awsProviders = append(m.awsProviders, alias)
		}
	}
}

func isOverrideFile(name string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".tf")
	return base == "override" || strings.HasSuffix(base, "_override")
}

// secretVariables are the declared variables isSecret names.
func (m *module) secretVariables(isSecret func(string) bool) []string {
	var out []string
	for _, v := range m.variables {
		if isSecret != nil && isSecret(v) {
			out = append(out, v)
		}
	}
	return out
}

// secretPaths returns, per resource ("type.name"), the attribute paths whose values
// depend on one of the secret variables, directly or through locals. A path stops
// where the expression stops being a literal object or block: everything below it is
// taken as derived from the secret.
func (m *module) secretPaths(secretVars []string) map[string][][]string {
	tainted := map[string]bool{}
	for _, v := range secretVars {
		tainted["var."+v] = true
	}
	for changed := true; changed; {
		changed = false
		for name, expr := range m.locals {
			if !tainted["local."+name] && dependsOn(expr, tainted) {
				tainted["local."+name], changed = true, true
			}
		}
	}
	out := map[string][][]string{}
	for addr, body := range m.resources {
		var paths [][]string
		walkBody(body, nil, tainted, &paths)
		if len(paths) > 0 {
			out[addr] = paths
		}
	}
	return out
}

func walkBody(body *hclsyntax.Body, path []string, tainted map[string]bool, out *[][]string) {
	for name, a := range body.Attributes {
		walkExpr(a.Expr, append(slices.Clone(path), name), tainted, out)
	}
	for _, b := range body.Blocks {
		walkBody(b.Body, append(slices.Clone(path), b.Type), tainted, out)
	}
}

func walkExpr(expr hclsyntax.Expression, path []string, tainted map[string]bool, out *[][]string) {
	if obj, ok := expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			key, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() || key.Type() != cty.String {
				if dependsOn(item.ValueExpr, tainted) || dependsOn(item.KeyExpr, tainted) {
					*out = append(*out, path)
				}
				continue
			}
			walkExpr(item.ValueExpr, append(slices.Clone(path), key.AsString()), tainted, out)
		}
		return
	}
	if dependsOn(expr, tainted) {
		*out = append(*out, path)
	}
}

// dependsOn reports whether expr refers to a tainted var.X or local.X.
func dependsOn(expr hcl.Expression, tainted map[string]bool) bool {
	for _, t := range expr.Variables() {
		if len(t) < 2 {
			continue
		}
		if attr, ok := t[1].(hcl.TraverseAttr); ok && tainted[t.RootName()+"."+attr.Name] {
			return true
		}
	}
	return false
}

// EndpointOverrideFileName is the file kmdeploy writes when AWS_ENDPOINT_URL points at
// another endpoint than AWS's (a local emulation): every AWS provider configuration of
// the root module addresses buckets by path and skips the checks only AWS can answer,
// as the S3 backend does (Backend.Endpoint).
const EndpointOverrideFileName = "kmdeploy_endpoint_override.tf"

// endpointOverride renders the provider settings for each alias; nil for none.
func endpointOverride(aliases []string) []byte {
	if len(aliases) == 0 {
		return nil
	}
	f := hclwrite.NewEmptyFile()
	for _, alias := range aliases {
		body := f.Body().AppendNewBlock("provider", []string{"aws"}).Body()
		if alias != "" {
			body.SetAttributeValue("alias", cty.StringVal(alias))
		}
		body.SetAttributeValue("s3_use_path_style", cty.True)
		body.SetAttributeValue("skip_credentials_validation", cty.True)
		body.SetAttributeValue("skip_metadata_api_check", cty.True)
	}
	return append([]byte("# Written by kmdeploy: AWS_ENDPOINT_URL is set (a local AWS emulation).\n"), f.Bytes()...)
}

// writeOverride writes data to the named override file of the configuration, or
// removes the file when data is nil.
func (r *Runner) writeOverride(name string, data []byte) error {
	path := filepath.Join(r.opts.Dir, name)
	if data == nil {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return err
		}
		return nil
	}
	return writeIfChanged(path, data)
}

// sensitiveOverride renders `variable "<name>" { sensitive = true }` for each name; nil
// when there are none.
func sensitiveOverride(names []string) []byte {
	if len(names) == 0 {
		return nil
	}
	f := hclwrite.NewEmptyFile()
	for _, n := range names {
		f.Body().AppendNewBlock("variable", []string{n}).Body().SetAttributeValue("sensitive", cty.True)
	}
	return append([]byte("# Written by kmdeploy: variables it treats as secret (KM_SECRET_TF_VARS, or named like a secret).\n"), f.Bytes()...)
}

// writeModuleOverrides writes the overrides that depend on the configuration: the
// endpoint settings of its AWS providers, and the sensitivity of its secret variables
// (or removes them when they no longer apply). It returns the module read for them.
func (r *Runner) writeModuleOverrides() (*module, error) {
	m, err := readModule(r.opts.Dir)
	if err != nil {
		return nil, err
	}
	var providers []string
	if r.opts.AWSEndpoint != "" {
		providers = m.awsProviders
	}
	if err := r.writeOverride(EndpointOverrideFileName, endpointOverride(providers)); err != nil {
		return nil, err
	}
	return m, r.writeOverride(SensitiveOverrideFileName, sensitiveOverride(m.secretVariables(r.opts.IsSecretVar)))
}

// hidePriorSecrets adds to the redactor the values the state holds for attributes
// derived from secret variables: the variables' old values, which nothing else knows.
func (r *Runner) hidePriorSecrets(ctx context.Context, m *module) error {
	secret := m.secretVariables(r.opts.IsSecretVar)
	if len(secret) == 0 || r.opts.Redact == nil {
		return nil
	}
	paths := m.secretPaths(secret)
	if len(paths) == 0 {
		return nil
	}
	raw, err := r.tf.StatePull(ctx)
	if err != nil {
		return r.wrap("terraform state pull", err)
	}
	r.opts.Redact.Add(stateValues(raw, paths)...)
	return nil
}

// stateValues collects the string values of a state document (terraform state pull) at
// the given root-module resource paths.
func stateValues(raw string, paths map[string][][]string) []string {
	var state struct {
		Resources []struct {
			Module    string `json:"module"`
			Mode      string `json:"mode"`
			Type      string `json:"type"`
			Name      string `json:"name"`
			Instances []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if json.Unmarshal([]byte(raw), &state) != nil {
		return nil
	}
	var out []string
	for _, res := range state.Resources {
		if res.Module != "" || res.Mode != "managed" {
			continue
		}
		for _, p := range paths[res.Type+"."+res.Name] {
			for _, inst := range res.Instances {
				collectStrings(inst.Attributes, p, &out)
			}
		}
	}
	return out
}

// collectStrings appends the strings under path in v; lists (blocks, sets) are
// crossed without using a path element.
func collectStrings(v any, path []string, out *[]string) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectStrings(e, path, out)
		}
	case map[string]any:
		if len(path) == 0 {
			for _, e := range x {
				collectStrings(e, nil, out)
			}
			return
		}
		collectStrings(x[path[0]], path[1:], out)
	case string:
		if len(path) == 0 {
			*out = append(*out, x)
		}
	}
}
