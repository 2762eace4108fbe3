package modcheck

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	lib "dagger.io/dagger"

	"dagger/km-release/pipeline"
)

// moduleRoot is ci/, where main.go and go.mod live.
const moduleRoot = ".."

// TestMainCompilesAgainstBindings type-checks and vets main.go (with the pipeline package)
// in a copy of the module where the engine-generated files are replaced by the stand-ins in
// testdata. Nothing is written to the module itself.
func TestMainCompilesAgainstBindings(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(moduleRoot, "go.mod"), filepath.Join(dir, "go.mod"))
	copyFile(t, filepath.Join(moduleRoot, "go.sum"), filepath.Join(dir, "go.sum"))
	copyFile(t, filepath.Join(moduleRoot, "main.go"), filepath.Join(dir, "main.go"))
	copyFile(t, "testdata/dagger_gen.go.txt", filepath.Join(dir, "dagger.gen.go"))
	copyFile(t, "testdata/internal_dagger.go.txt", filepath.Join(dir, "internal", "dagger", "dagger.gen.go"))
	files, err := filepath.Glob(filepath.Join(moduleRoot, "pipeline", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			copyFile(t, f, filepath.Join(dir, "pipeline", filepath.Base(f)))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "vet", ".")
	cmd.Dir = dir
	// Offline and self-contained: the dependencies are those of this test's own build.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("main.go does not compile against the module bindings: %v\n%s", err, out)
	}
}

// TestStubMatchesLibrary keeps the stand-in honest: each of its methods exists on the plain
// client library's type of the same name with the same parameter and result type names
// (the engine's code generator writes both).
func TestStubMatchesLibrary(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "testdata/internal_dagger.go.txt", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	libTypes := map[string]reflect.Type{
		"Client":    reflect.TypeFor[*lib.Client](),
		"Container": reflect.TypeFor[*lib.Container](),
		"Directory": reflect.TypeFor[*lib.Directory](),
		"Secret":    reflect.TypeFor[*lib.Secret](),
	}
	checked := 0
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil {
			continue
		}
		recv := strings.TrimPrefix(exprString(fn.Recv.List[0].Type), "*")
		lt, ok := libTypes[recv]
		if !ok {
			t.Errorf("stub type %s has no counterpart in the library", recv)
			continue
		}
		m, ok := lt.MethodByName(fn.Name.Name)
		if !ok {
			t.Errorf("the library's %s has no method %s", recv, fn.Name.Name)
			continue
		}
		want := fieldTypes(fn.Type.Params)
		var got []string
		for i := 1; i < m.Type.NumIn(); i++ { // 0 is the receiver
			got = append(got, typeName(m.Type.In(i)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s.%s parameters: stub %v, library %v", recv, fn.Name.Name, want, got)
		}
		want = fieldTypes(fn.Type.Results)
		got = nil
		for i := 0; i < m.Type.NumOut(); i++ {
			got = append(got, typeName(m.Type.Out(i)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s.%s results: stub %v, library %v", recv, fn.Name.Name, want, got)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("checked only %d stub methods", checked)
	}
}

// Functions with side effects must never be served from the function cache, and checks
// must be callable without arguments.
var sideEffecting = []string{"PublishApi", "BuildWeb", "Plan", "Apply", "Drift", "Deploy", "PublishWeb", "Status", "Release", "Promote"}

func TestFunctionPragmas(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(moduleRoot, "main.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	checks := 0
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || !fn.Name.IsExported() {
			continue
		}
		name := fn.Name.Name
		seen[name] = true
		doc := fn.Doc.Text()
		if doc == "" {
			t.Errorf("%s has no doc comment: `dagger functions` shows it", name)
		}
		never := strings.Contains(doc, `+cache="never"`)
		if slices.Contains(sideEffecting, name) && !never {
			t.Errorf(`%s has side effects but lacks // +cache="never"`, name)
		}
		if strings.Contains(doc, "+check") {
			checks++
			params := fieldTypes(fn.Type.Params)
			if !slices.Equal(params, []string{"context.Context"}) || !slices.Equal(fieldTypes(fn.Type.Results), []string{"error"}) {
				t.Errorf("check %s must take only a context and return only an error, has %v", name, params)
			}
		}
	}
	for _, name := range append(sideEffecting, "TestApi", "TestWeb", "BuildApi", "Lambdas", "Toolbox") {
		if !seen[name] {
			t.Errorf("function %s is missing from main.go", name)
		}
	}
	if checks < 3 {
		t.Errorf("want at least 3 check functions, found %d", checks)
	}
}

// The engine tests take the repository as the module does: with the same files left out, so
// that both give the engine the same directory (and the same cache keys).
func TestSourceIgnoreMatchesModule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(moduleRoot, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "// +ignore=")
	if !ok {
		t.Fatal("main.go has no +ignore pragma")
	}
	line, _, _ := strings.Cut(rest, "\n")
	var ignore []string
	if err := json.Unmarshal([]byte(line), &ignore); err != nil {
		t.Fatalf("main.go's +ignore: %v", err)
	}
	if !slices.Equal(ignore, pipeline.SourceIgnore) {
		t.Fatalf("main.go's +ignore %q differs from pipeline.SourceIgnore %q", ignore, pipeline.SourceIgnore)
	}
}

func fieldTypes(fl *ast.FieldList) []string {
	var out []string
	if fl == nil {
		return out
	}
	for _, field := range fl.List {
		n := max(len(field.Names), 1)
		for range n {
			out = append(out, exprString(field.Type))
		}
	}
	return out
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + exprString(e.X)
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.ArrayType:
		return "[]" + exprString(e.Elt)
	}
	return "?"
}

// typeName renders a library type the way the stub spells it (package-local names
// unqualified).
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return "*" + typeName(t.Elem())
	}
	if t.PkgPath() == "dagger.io/dagger" {
		return t.Name()
	}
	return t.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
