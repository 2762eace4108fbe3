package pipeline

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Sources: an app's source is a directory (its repository, or this repository for the
// samples) and a path inside it where the app lives. Go samples need the repository root
// because their go.mod is there; km-api and km-web use path ".".

// APIKind is how an API source is tested.
type APIKind string

const (
	APIPython APIKind = "python" // km-api: Django, pytest, black, flake8
	APIGo     APIKind = "go"     // examples/api: go test against real Postgres
)

// APIPlan says how to test and build one API source.
type APIPlan struct {
	Kind       APIKind
	Path       string   // the app inside the source directory
	Dockerfile string   // relative to the source directory, which is the build context
	Requires   []string // Python requirement files to install, relative to Path
}

// DetectAPI chooses the plan from the names in the source root and in the app's path
// (a trailing '/' on directory names is ignored).
func DetectAPI(appPath string, rootEntries, appEntries []string) (APIPlan, error) {
	appPath = cleanPath(appPath)
	plan := APIPlan{Path: appPath, Dockerfile: path.Join(appPath, "Dockerfile")}
	has := func(entries []string, name string) bool {
		return slices.ContainsFunc(entries, func(e string) bool { return strings.TrimSuffix(e, "/") == name })
	}
	if !has(appEntries, "Dockerfile") {
		return APIPlan{}, fmt.Errorf("no Dockerfile in the API source at %q: point --api at a km-api checkout (and --api-path at the app inside it)", appPath)
	}
	switch {
	case has(appEntries, "manage.py") || has(appEntries, "requirements.txt"):
		plan.Kind = APIPython
		for _, e := range appEntries {
			if strings.HasPrefix(e, "requirements") && strings.HasSuffix(e, ".txt") {
				plan.Requires = append(plan.Requires, e)
			}
		}
		slices.Sort(plan.Requires)
		if len(plan.Requires) == 0 {
			return APIPlan{}, fmt.Errorf("the Python API at %q has no requirements*.txt to install", appPath)
		}
	case has(rootEntries, "go.mod"):
		plan.Kind = APIGo
	default:
		return APIPlan{}, fmt.Errorf("cannot tell how to test the API at %q: expected manage.py or requirements.txt (Django) there, or go.mod at the source root (Go)", appPath)
	}
	return plan, nil
}

// TestCommands are the commands that test the API, run in the app's directory (Python) or
// the source root (Go).
func (p APIPlan) TestCommands() [][]string {
	switch p.Kind {
	case APIPython:
		var cmds [][]string
		for _, r := range p.Requires {
			cmds = append(cmds, []string{"pip", "install", "-r", r}) // downloads stay in the pip cache volume
		}
		return append(cmds,
			[]string{"python", "-m", "black", "--check", "."},
			[]string{"python", "-m", "flake8"},
			[]string{"python", "-m", "pytest"},
		)
	case APIGo:
		pkg := "./..."
		if p.Path != "." {
			pkg = "./" + p.Path + "/..."
		}
		return [][]string{
			{"go", "vet", pkg},
			{"go", "test", "-count=1", pkg},
		}
	}
	return nil
}

// WebPlan says how to test and build one web source.
type WebPlan struct {
	Path    string
	Install []string
	Test    []string
	Build   []string
	// Output is the bundle directory the build writes, relative to Path: build/ for
	// create-react-app and for the sample.
	Output string
}

// DetectWeb chooses the package manager from the lock file; a lock file is required, since
// a release must not resolve new dependency versions.
func DetectWeb(appPath string, appEntries []string, hasTestScript bool) (WebPlan, error) {
	appPath = cleanPath(appPath)
	plan := WebPlan{Path: appPath, Output: "build"}
	switch {
	// --prefer-offline: what the cache volume holds is used without asking the registry
	// again; the lock file pins it anyway.
	case slices.Contains(appEntries, "yarn.lock"):
		plan.Install = []string{"yarn", "install", "--frozen-lockfile", "--non-interactive", "--prefer-offline"}
		plan.Test = []string{"yarn", "test"}
		plan.Build = []string{"yarn", "build"}
	case slices.Contains(appEntries, "package-lock.json"):
		plan.Install = []string{"npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"}
		plan.Test = []string{"npm", "test"}
		plan.Build = []string{"npm", "run", "build"}
	case slices.Contains(appEntries, "package.json"):
		return WebPlan{}, fmt.Errorf("the web app at %q has no yarn.lock or package-lock.json: commit a lock file so releases install the same dependencies", appPath)
	default:
		return WebPlan{}, fmt.Errorf("no package.json in the web source at %q: point --web at a km-web checkout (and --web-path at the app inside it)", appPath)
	}
	if !hasTestScript {
		plan.Test = nil
	}
	return plan, nil
}

// HasTestScript reports whether package.json defines a test script other than npm's
// placeholder that always fails.
func HasTestScript(packageJSON []byte) (bool, error) {
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(packageJSON, &pkg); err != nil {
		return false, fmt.Errorf("reading package.json: %w", err)
	}
	test := pkg.Scripts["test"]
	return test != "" && !strings.Contains(test, "no test specified"), nil
}

func cleanPath(p string) string {
	p = path.Clean(strings.TrimPrefix(p, "/"))
	if p == "" {
		return "."
	}
	return p
}

// SourceIgnore is what the module leaves out of this repository when it takes it by default
// (the +ignore of ci/main.go's source argument; modcheck keeps the two equal): local build
// outputs and state, which would otherwise reach the engine and bust caches (test-api copies
// the whole repository), and the bindings the engine generates.
var SourceIgnore = []string{
	".git", "**/node_modules", "**/.terraform", "bin", "dist", ".rehearsal",
	"kmdeploy", "examples/web/build", "**/*.tfplan", "**/terraform.tfstate*", "infra/kmdeploy_*_override.tf",
	"ci/dagger.gen.go", "ci/internal/dagger", "ci/internal/querybuilder", "ci/internal/telemetry",
}

// Sample paths inside this repository, used when no app source is given.
const (
	SampleAPIPath = "examples/api"
	SampleWebPath = "examples/web"
)

// SourcePath is the app's path inside its source: what the user said, else "." for a
// source the user gave (a km-api or km-web checkout), else the sample in this repository.
func SourcePath(userGaveSource bool, userPath, samplePath string) string {
	switch {
	case userPath != "":
		return cleanPath(userPath)
	case userGaveSource:
		return "."
	default:
		return samplePath
	}
}
