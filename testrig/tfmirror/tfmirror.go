// Package tfmirror points Terraform at a local filesystem mirror of the hashicorp
// providers when the machine has one (air-gapped machines, this project's test
// machines), and at the registry otherwise. Tests and the rehearsal use it; kmdeploy
// itself leaves provider installation to the user's Terraform configuration.
package tfmirror

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// EnvVar names an explicit mirror directory (Terraform's filesystem-mirror layout:
// <dir>/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/...).
const EnvVar = "KM_TF_PROVIDER_MIRROR"

// Find returns the mirror directory: $KM_TF_PROVIDER_MIRROR, else the first
// conventional place (up to two levels under /opt, /usr/local/share and /usr/share,
// and ~/.terraform.d/plugins) holding the AWS provider for this platform; "" when
// there is none.
func Find() string {
	if dir := os.Getenv(EnvVar); dir != "" {
		return dir
	}
	roots := []string{"/opt", "/usr/local/share", "/usr/share"}
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".terraform.d", "plugins"))
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	for _, root := range roots {
		for _, pattern := range []string{"", "*", filepath.Join("*", "*")} {
			hits, _ := filepath.Glob(filepath.Join(root, pattern, "registry.terraform.io", "hashicorp", "aws", "*", platform))
			if len(hits) > 0 {
				return filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(hits[0])))))
			}
		}
	}
	return ""
}

// CLIConfig renders a Terraform CLI configuration that installs hashicorp providers
// from mirror and every other provider from its registry.
func CLIConfig(mirror string) []byte {
	return fmt.Appendf(nil, `provider_installation {
  filesystem_mirror {
    path    = %s
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
`, strconv.Quote(mirror))
}

// Env returns the environment entries that make Terraform use the mirror, writing
// the CLI configuration into dir; none when there is no mirror (the registry is used).
// An existing TF_CLI_CONFIG_FILE of the user's is respected.
func Env(dir string) ([]string, error) {
	if path := os.Getenv("TF_CLI_CONFIG_FILE"); path != "" {
		if _, err := os.Stat(path); err == nil {
			return nil, nil
		}
	}
	mirror := Find()
	if mirror == "" {
		return nil, nil
	}
	path := filepath.Join(dir, "terraform.rc")
	if err := os.WriteFile(path, CLIConfig(mirror), 0o644); err != nil {
		return nil, err
	}
	return []string{"TF_CLI_CONFIG_FILE=" + path, "CHECKPOINT_DISABLE=1"}, nil
}
