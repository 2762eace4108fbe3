package config

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/knowmetools/km-release/internal/terraform"
)

type resourceField struct {
	name, env, output string
	index             int
}

func resourceFields() []resourceField {
	t := reflect.TypeFor[Resources]()
	out := make([]resourceField, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, resourceField{name: f.Name, env: f.Tag.Get("env"), output: f.Tag.Get("output"), index: i})
	}
	return out
}

// ResourceEnvVar returns the KM_* variable that overrides a Resources field (by Go
// field name), or "" for an unknown field.
func ResourceEnvVar(field string) string {
	for _, f := range resourceFields() {
		if f.name == field {
			return f.env
		}
	}
	return ""
}

// Resources returns every resource name of the environment: from Terraform outputs
// of the environment's workspace, each overridable by its KM_* variable. With
// KM_RESOURCES_FROM=auto Terraform runs only when some name is not set by a
// variable; with env never. Fields Terraform does not output stay empty.
func (c *Config) Resources(ctx context.Context) (*Resources, error) {
	return c.resources(ctx, nil)
}

// ResourcesFor is Resources for a command that needs only the named fields (Go field
// names of Resources, e.g. "Cluster", "WebBucket"): Terraform runs only if one of
// them is not set by its KM_* variable, and an empty needed field is a configuration
// error naming its variable and Terraform output.
func (c *Config) ResourcesFor(ctx context.Context, fields ...string) (*Resources, error) {
	for _, f := range fields {
		if ResourceEnvVar(f) == "" {
			return nil, fmt.Errorf("config: Resources has no field %q", f)
		}
	}
	return c.resources(ctx, fields)
}

func (c *Config) resources(ctx context.Context, needed []string) (*Resources, error) {
	fields := resourceFields()
	strict := needed != nil
	if needed == nil {
		for _, f := range fields {
			needed = append(needed, f.name)
		}
	}
	useTerraform := c.ResourcesFrom == "terraform"
	if c.ResourcesFrom == "auto" {
		for _, n := range needed {
			if v, ok := c.env.Lookup(ResourceEnvVar(n)); !ok || v == "" {
				useTerraform = true
				break
			}
		}
	}

	res := &Resources{}
	if useTerraform {
		outputs, err := c.outputs(ctx)
		if err != nil {
			return nil, err
		}
		if err := decodeOutputs(outputs, res); err != nil {
			return nil, err
		}
	}
	// Variables override outputs; decode them one by one so every bad value is named.
	var probs problems
	bad := map[string]bool{}
	rv := reflect.ValueOf(res).Elem()
	for _, f := range fields {
		raw, ok := c.env.Lookup(f.env)
		if !ok || raw == "" {
			continue
		}
		if err := setField(rv.Field(f.index), raw); err != nil {
			probs.add(f.env, "cannot use %q; expected %s", raw, err)
			bad[f.env] = true
		}
	}
	for _, f := range fields {
		if !strict || !slices.Contains(needed, f.name) || bad[f.env] || !isEmpty(rv.Field(f.index)) {
			continue
		}
		hint := "set it, or let kmdeploy read the Terraform output " + f.output + " (KM_RESOURCES_FROM=auto or terraform, with the environment applied)"
		if useTerraform {
			hint = "Terraform output " + f.output + " is missing or empty in workspace " + c.Env + "; apply the infrastructure or set the variable"
		}
		probs.add(f.env, "not set; %s", hint)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return res, nil
}

// outputs reads (once per Config) the workspace's Terraform outputs.
func (c *Config) outputs(ctx context.Context) (map[string]terraform.Output, error) {
	c.resMu.Lock()
	defer c.resMu.Unlock()
	if c.outs != nil {
		return c.outs, nil
	}
	opts, err := c.TerraformOptions()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeouts.TerraformOutputs)
	defer cancel()
	r, err := terraform.New(opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	outs, err := r.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading resource names from Terraform outputs of workspace %q (set KM_RESOURCES_FROM=env and the KM_* variables to skip Terraform): %w", c.Env, err)
	}
	c.outs = outs
	return outs, nil
}

// decodeOutputs copies outputs into res by the fields' `output` tags.
func decodeOutputs(outputs map[string]terraform.Output, res *Resources) error {
	rv := reflect.ValueOf(res).Elem()
	var probs problems
	for _, f := range resourceFields() {
		o, ok := outputs[f.output]
		if !ok || len(o.Value) == 0 || string(o.Value) == "null" {
			continue
		}
		field := rv.Field(f.index)
		var err error
		switch field.Kind() {
		case reflect.String:
			var s any
			if err = json.Unmarshal(o.Value, &s); err == nil {
				switch v := s.(type) {
				case string:
					field.SetString(v)
				case float64:
					field.SetString(strconv.FormatFloat(v, 'f', -1, 64))
				default:
					err = fmt.Errorf("want a string, got %s", o.Value)
				}
			}
		case reflect.Int32:
			var n json.Number
			if err = json.Unmarshal(o.Value, &n); err != nil {
				var s string
				if json.Unmarshal(o.Value, &s) == nil {
					n, err = json.Number(s), nil
				}
			}
			if err == nil {
				var i int64
				if i, err = strconv.ParseInt(n.String(), 10, 32); err == nil {
					field.SetInt(i)
				}
			}
		case reflect.Slice:
			var list []string
			if err = json.Unmarshal(o.Value, &list); err == nil {
				field.Set(reflect.ValueOf(list))
			}
		}
		if err != nil {
			probs.add(f.env, "Terraform output %s has an unusable value (%v); fix infra/outputs.tf or set the variable", f.output, err)
		}
	}
	return probs.err()
}

// setField parses a variable value into a Resources field; the error says what is
// expected.
func setField(v reflect.Value, raw string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int32:
		i, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 32)
		if err != nil || i <= 0 {
			return fmt.Errorf("a positive number")
		}
		v.SetInt(i)
	case reflect.Slice:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		v.Set(reflect.ValueOf(list))
	}
	return nil
}

// Missing returns the KM_* variables of the named fields (Go field names) that are
// empty, in the order given, so code holding a Resources built elsewhere (tests, the
// rehearsal) reports gaps with the same variable names as ResourcesFor.
func (r *Resources) Missing(fields ...string) []string {
	rv := reflect.ValueOf(r).Elem()
	var missing []string
	for _, name := range fields {
		f := rv.FieldByName(name)
		if !f.IsValid() {
			panic("config: Resources has no field " + name)
		}
		if isEmpty(f) {
			missing = append(missing, ResourceEnvVar(name))
		}
	}
	return missing
}

// isEmpty: a zero value, or a list with no elements (an output of [] names nothing).
func isEmpty(v reflect.Value) bool {
	return v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0)
}
