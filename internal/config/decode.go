package config

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// decodeFields fills target's `env`-tagged fields from l, one field at a time:
// envconfig stops at the first error of a struct, and users should see every
// problem at once. Each field's `expect` tag says what a valid value looks like.
func decodeFields(ctx context.Context, target any, l envconfig.Lookuper) problems {
	var probs problems
	walkEnvFields(reflect.ValueOf(target).Elem(), func(f reflect.StructField, v reflect.Value) {
		key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		key = strings.TrimSpace(key)
		one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.Type, Tag: f.Tag}}))
		err := envconfig.Process(ctx, &envconfig.Config{Target: one.Interface(), Lookuper: l})
		if err != nil {
			expect := f.Tag.Get("expect")
			if errors.Is(err, envconfig.ErrMissingRequired) {
				probs.add(key, "not set; expected %s", expect)
				return
			}
			raw, _ := l.Lookup(key)
			probs.add(key, "cannot use %q; expected %s", raw, expect)
			return
		}
		v.Set(one.Elem().Field(0))
	})
	return probs
}

// walkEnvFields calls fn for every `env`-tagged field, descending into untagged
// struct fields.
func walkEnvFields(v reflect.Value, fn func(reflect.StructField, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Tag.Get("env") == "" {
			if f.Type.Kind() == reflect.Struct {
				walkEnvFields(v.Field(i), fn)
			}
			continue
		}
		fn(f, v.Field(i))
	}
}

// envVars lists the variables a struct type reads, with their documentation.
func envVars(t reflect.Type) []Variable {
	var out []Variable
	walkEnvFields(reflect.New(t).Elem(), func(f reflect.StructField, _ reflect.Value) {
		tag := f.Tag.Get("env")
		key, opts, _ := strings.Cut(tag, ",")
		v := Variable{Name: strings.TrimSpace(key), Expect: f.Tag.Get("expect"), Doc: f.Tag.Get("doc")}
		for _, o := range strings.Split(opts, ",") {
			o = strings.TrimSpace(o)
			switch {
			case o == "required":
				v.Required = "yes"
			case strings.HasPrefix(o, "default="):
				// default= swallows the rest of the tag, commas included.
				_, v.Default, _ = strings.Cut(opts, "default=")
			}
		}
		if r := f.Tag.Get("required"); r != "" {
			v.Required = r
		}
		if d := f.Tag.Get("default"); d != "" {
			v.Default = d
		}
		if v.Required == "" {
			v.Required = "no"
		}
		out = append(out, v)
	})
	return out
}
