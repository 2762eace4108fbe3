package appspec

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// VersionString is the AppSpec version. CodeDeploy's examples write it as the bare
// number 0.0, which YAML and JSON decoders would turn into 0; keeping the source text
// lets Validate compare it exactly and Render write it back unquoted.
type VersionString string

// MarshalYAML writes the version as a bare 0.0, the form CodeDeploy documents.
func (v VersionString) MarshalYAML() ([]byte, error) {
	return []byte(v), nil
}

// UnmarshalYAML keeps the version's text whether it was written quoted or bare. A bare
// number equal to 0.0 is Version: JSON encoders that drop the ".0" (Go's among them)
// write it as 0, and CodeDeploy reads the number.
func (v *VersionString) UnmarshalYAML(b []byte) error {
	s := strings.TrimSpace(string(b))
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == 0 {
		s = Version
	}
	s = strings.Trim(s, `"'`)
	*v = VersionString(s)
	return nil
}

// MarshalYAML writes a hook as the single-key map AppSpec files use.
func (h Hook) MarshalYAML() (any, error) {
	return yaml.MapSlice{{Key: h.Event, Value: h.Function}}, nil
}

// UnmarshalYAML reads a `- Event: function` entry.
func (h *Hook) UnmarshalYAML(unmarshal func(any) error) error {
	var m map[string]string
	if err := unmarshal(&m); err != nil {
		return fmt.Errorf("a hook must be a single `Event: FunctionName` entry: %w", err)
	}
	if len(m) != 1 {
		return fmt.Errorf("a hook must be a single `Event: FunctionName` entry, got %d keys", len(m))
	}
	for k, fn := range m {
		h.Event, h.Function = k, fn
	}
	return nil
}

// Format selects the rendering of an AppSpec.
type Format int

const (
	YAML Format = iota
	JSON
)

func (f Format) String() string {
	if f == JSON {
		return "JSON"
	}
	return "YAML"
}

// Render validates the spec and renders it in the given format.
func (a *AppSpec) Render(f Format) ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	opts := []yaml.EncodeOption{yaml.Indent(2), yaml.IndentSequence(true)}
	if f == JSON {
		opts = []yaml.EncodeOption{yaml.JSON()}
	}
	out, err := yaml.MarshalWithOptions(a, opts...)
	if err != nil {
		return nil, fmt.Errorf("render AppSpec as %s: %w", f, err)
	}
	return out, nil
}

// Parse reads an AppSpec in YAML or JSON (JSON is YAML) and validates it.
func Parse(content []byte) (*AppSpec, error) {
	if len(bytes.TrimSpace(content)) == 0 {
		return nil, ErrNoContent
	}
	var a AppSpec
	if err := yaml.Unmarshal(content, &a); err != nil {
		return nil, fmt.Errorf("parse AppSpec (YAML or JSON expected): %s", yaml.FormatError(err, false, true))
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return &a, nil
}
