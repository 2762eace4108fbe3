package config

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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

// Resources returns every resource name of the environment: from Terraform outputs
// of the environment's workspace, each overridable by its KM_* variable. With
// KM_RESOURCES_FROM=auto Terraform runs only when some name is not set by a
// variable; with env never. Fields Terraform does not output stay empty.
func (c *Config) Resources(ctx context.Context) (*Resources, error) {
	return c.resources(ctx, nil)
}

// ResourcesFor is Resources for an operation that needs only some names: Terraform
// runs only if one of them is not set by its KM_* variable, and an empty required name
// is a configuration error naming its variable and Terraform output.
func (c *Config) ResourcesFor(ctx context.Context, needs Needs) (*Resources, error) {
	return c.resources(ctx, &needs)
}

// needsTerraform reports whether reading the names of needs (nil: all) runs Terraform.
func (c *Config) needsTerraform(needs *Needs) bool {
	switch c.ResourcesFrom {
	case "terraform":
		return true
	case "env":
		return false
	}
	fields := resourceFields()
	if needs != nil {
		fields = nil
		for _, f := range needs.all() {
			fields = append(fields, resourceFields()[f.index])
		}
	}
	for _, f := range fields {
		if v, ok := c.env.Lookup(f.env); !ok || v == "" {
			return true
		}
	}
	return false
}

func (c *Config) resources(ctx context.Context, needs *Needs) (*Resources, error) {
	fields := resourceFields()
	useTerraform := c.needsTerraform(needs)
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
	if needs != nil {
		for _, f := range needs.Required {
			if bad[f.Env()] || !isEmpty(rv.Field(f.index)) {
				continue
			}
			hint := "set it, or let kmdeploy read the Terraform output " + f.Output() + " (KM_RESOURCES_FROM=auto or terraform, with the environment applied)"
			if useTerraform {
				hint = "Terraform output " + f.Output() + " is missing or empty in workspace " + c.Env + "; apply the infrastructure or set the variable"
			}
			probs.add(f.Env(), "not set; %s", hint)
		}
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
				if i, err = strconv.ParseInt(n.String(), 10, 32); err == nil && !validPort(i) {
					err = fmt.Errorf("%d is not a port number from 1 to 65535", i)
				}
				if err == nil {
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
		if err != nil || !validPort(i) {
			return fmt.Errorf("a port number from 1 to 65535")
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

// validPort: the only number among the resources is the container's port.
func validPort(p int64) bool { return p >= 1 && p <= 65535 }

// isEmpty: a zero value, or a list with no elements (an output of [] names nothing).
func isEmpty(v reflect.Value) bool {
	return v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0)
}
