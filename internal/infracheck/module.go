// Package infracheck reads a Terraform configuration (infra/) with hashicorp/hcl and
// checks it statically: the policies the environment must satisfy (private database,
// blue/green service, private buckets, least-privilege Lambdas, ...) and the contract with
// kmdeploy (the outputs it reads). It exists because `terraform validate` needs the AWS
// provider, which cannot always be installed; these checks need nothing but the files.
package infracheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Block is one top-level block of the configuration (resource, data, variable, ...).
type Block struct {
	Type   string
	Labels []string
	Body   *hclsyntax.Body
	Range  hcl.Range
	src    []byte // the whole file, for source text of expressions
}

func (b *Block) srcBytes() []byte { return b.src }

// Key is "type.name" for resources and data sources, the name otherwise.
func (b *Block) Key() string { return strings.Join(b.Labels, ".") }

// Attr returns the block's attribute name, or nil.
func (b *Block) Attr(name string) *hclsyntax.Attribute { return b.Body.Attributes[name] }

// Nested returns the nested blocks of the given type, following nested paths such as
// "lifecycle" or "origin". Dynamic blocks are returned under their label too, with the
// content block's body, so checks see what they would generate.
func (b *Block) Nested(typ string) []*hclsyntax.Block { return nestedBlocks(b.Body, typ) }

func nestedBlocks(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, blk := range body.Blocks {
		switch {
		case blk.Type == typ:
			out = append(out, blk)
		case blk.Type == "dynamic" && len(blk.Labels) == 1 && blk.Labels[0] == typ:
			for _, content := range blk.Body.Blocks {
				if content.Type == "content" {
					out = append(out, content)
				}
			}
		}
	}
	return out
}

// Module is a parsed configuration directory.
type Module struct {
	Dir       string
	Variables map[string]*Block
	Outputs   map[string]*Block
	Locals    map[string]*hclsyntax.Attribute
	Resources map[string]*Block // "aws_s3_bucket.web"
	Data      map[string]*Block // "aws_iam_policy_document.task"
	Others    []*Block          // terraform, provider, module, check, ...
	files     map[string]*hcl.File
}

// Load parses every *.tf file of dir.
func Load(dir string) (*Module, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	// Override files (e.g. the backend override kmdeploy writes while it runs) are merged
	// by Terraform at run time; the checks look at the configuration as committed.
	paths = slices.DeleteFunc(paths, func(p string) bool {
		base := filepath.Base(p)
		return base == "override.tf" || strings.HasSuffix(base, "_override.tf")
	})
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.tf files in %s: point the check at the Terraform configuration directory", dir)
	}
	srcs := make(map[string][]byte, len(paths))
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		srcs[p] = src
	}
	m, err := Parse(srcs)
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	return m, nil
}

// Parse builds a Module from file name → source, e.g. fixtures in tests.
func Parse(srcs map[string][]byte) (*Module, error) {
	m := &Module{
		Variables: map[string]*Block{},
		Outputs:   map[string]*Block{},
		Locals:    map[string]*hclsyntax.Attribute{},
		Resources: map[string]*Block{},
		Data:      map[string]*Block{},
		files:     map[string]*hcl.File{},
	}
	names := make([]string, 0, len(srcs))
	for name := range srcs {
		names = append(names, name)
	}
	sort.Strings(names)
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	for _, name := range names {
		f, d := parser.ParseHCL(srcs[name], name)
		diags = append(diags, d...)
		if f == nil || d.HasErrors() {
			continue
		}
		m.files[name] = f
		diags = append(diags, m.add(f.Body.(*hclsyntax.Body), srcs[name])...)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse Terraform configuration: %w", diags)
	}
	return m, nil
}

func (m *Module) add(body *hclsyntax.Body, src []byte) hcl.Diagnostics {
	var diags hcl.Diagnostics
	dup := func(kind, key string, rng hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("duplicate %s %q", kind, key),
			Subject:  rng.Ptr(),
		})
	}
	for _, blk := range body.Blocks {
		b := &Block{Type: blk.Type, Labels: blk.Labels, Body: blk.Body, Range: blk.DefRange(), src: src}
		var into map[string]*Block
		switch blk.Type {
		case "variable":
			into = m.Variables
		case "output":
			into = m.Outputs
		case "resource":
			into = m.Resources
		case "data":
			into = m.Data
		case "locals":
			for name, attr := range blk.Body.Attributes {
				if _, ok := m.Locals[name]; ok {
					dup("local", name, attr.NameRange)
				}
				m.Locals[name] = attr
			}
			continue
		default:
			m.Others = append(m.Others, b)
			continue
		}
		if _, ok := into[b.Key()]; ok {
			dup(blk.Type, b.Key(), b.Range)
		}
		into[b.Key()] = b
	}
	return diags
}

// ResourcesOfType returns the resources of one type, sorted by name.
func (m *Module) ResourcesOfType(typ string) []*Block { return ofType(m.Resources, typ) }

// DataOfType returns the data sources of one type, sorted by name.
func (m *Module) DataOfType(typ string) []*Block { return ofType(m.Data, typ) }

func ofType(blocks map[string]*Block, typ string) []*Block {
	var out []*Block
	for _, b := range blocks {
		if b.Labels[0] == typ {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

// sortedKeys returns a map's keys in order, so findings come out stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
