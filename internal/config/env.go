package config

import (
	"os"
	"sort"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Environ is a Lookuper that can also list its variables. Listing is needed for the
// TF_VAR_* variables (their names are not known in advance) and to hand Terraform
// exactly the environment the configuration was read from.
type Environ interface {
	envconfig.Lookuper
	Keys() []string
}

// MapEnv is an Environ backed by a map, for tests and for callers that assemble an
// environment themselves.
type MapEnv map[string]string

// Lookup implements envconfig.Lookuper.
func (m MapEnv) Lookup(key string) (string, bool) { v, ok := m[key]; return v, ok }

// Keys lists the variable names, sorted.
func (m MapEnv) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OSEnv returns the process environment as an Environ.
func OSEnv() Environ { return osEnv{} }

type osEnv struct{}

func (osEnv) Lookup(key string) (string, bool) { return os.LookupEnv(key) }

func (osEnv) Keys() []string {
	var keys []string
	for _, kv := range os.Environ() {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// asEnviron makes any Lookuper listable. A plain Lookuper (such as
// envconfig.OsLookuper) is assumed to front the process environment, so its keys are
// taken from there.
func asEnviron(l envconfig.Lookuper) Environ {
	if e, ok := l.(Environ); ok {
		return e
	}
	return lookupOnly{l}
}

type lookupOnly struct{ envconfig.Lookuper }

func (lookupOnly) Keys() []string { return osEnv{}.Keys() }

// envMap copies an Environ into a map.
func envMap(e Environ) map[string]string {
	m := map[string]string{}
	for _, k := range e.Keys() {
		if v, ok := e.Lookup(k); ok {
			m[k] = v
		}
	}
	return m
}
