package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Setting is one resolved configuration value, safe to print.
type Setting struct {
	Var   string
	Value string // already redacted when secret
}

// Settings returns the resolved configuration for display: every kmdeploy
// variable's effective value, the Terraform variables (secret ones redacted), and
// which standard AWS variables are present (credentials never shown).
func (c *Config) Settings() []Setting {
	var out []Setting
	walkEnvFields(reflect.ValueOf(c).Elem(), func(f reflect.StructField, v reflect.Value) {
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		out = append(out, Setting{Var: key, Value: formatValue(v)})
	})
	tfVars := c.TFVars()
	for _, name := range sortedKeys(tfVars) {
		val := tfVars[name]
		if c.IsSecretTFVar(name) {
			val = Redacted
		}
		out = append(out, Setting{Var: "TF_VAR_" + name, Value: val})
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		v, ok := c.env.Lookup(k)
		if !ok {
			continue
		}
		switch k {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
			v = "(set)"
		}
		out = append(out, Setting{Var: k, Value: v})
	}
	return out
}

// ResourceSettings renders resources as KM_* variable/value pairs (the form that
// overrides them), in field order.
func (r *Resources) Settings() []Setting {
	var out []Setting
	for _, f := range resourceFields() {
		out = append(out, Setting{Var: f.env, Value: formatValue(reflect.ValueOf(r).Elem().Field(f.index))})
	}
	return out
}

// Env returns the resources as KM_* environment variables (unset fields omitted), so
// a process can be handed the names without running Terraform again.
func (r *Resources) Env() map[string]string {
	m := map[string]string{}
	for _, s := range r.Settings() {
		if s.Value != "" && s.Value != "0" {
			m[s.Var] = s.Value
		}
	}
	return m
}

func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
