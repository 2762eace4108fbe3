package terraform

import (
	"os/exec"
)

// FindBinary resolves the Terraform executable: the given name or path if set,
// else terraform, else tofu, on PATH.
func FindBinary(binary string) (string, error) {
	candidates := []string{"terraform", "tofu"}
	if binary != "" {
		candidates = []string{binary}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", &NotFoundError{Tried: candidates}
}
