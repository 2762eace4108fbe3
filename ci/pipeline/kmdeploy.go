package pipeline

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// The deploy tool's command lines, built apart from running them so they are tested by argv.
// Each function returns the full argv, starting with the binary.

const kmdeployBin = "kmdeploy"

// PlanArgs shows what Terraform would change in the environment.
func PlanArgs() []string { return []string{kmdeployBin, "infra", "plan"} }

// ApplyArgs plans and applies in one go, as pipelines do (the guard on stateful resources
// still refuses destructive plans).
func ApplyArgs() []string { return []string{kmdeployBin, "infra", "apply", "--auto-plan"} }

// DriftArgs exits non-zero when live infrastructure no longer matches the configuration.
func DriftArgs() []string { return []string{kmdeployBin, "infra", "drift"} }

// OutputArgs prints the raw value of one Terraform output of the environment's workspace.
func OutputArgs(name string) []string { return []string{kmdeployBin, "infra", "output", name} }

// RolloutArgs ships image (pinned by digest) to the environment's ECS service.
func RolloutArgs(image string) ([]string, error) {
	pinned, err := PinnedImage(image)
	if err != nil {
		return nil, fmt.Errorf("--image: %w", err)
	}
	return []string{kmdeployBin, "rollout", "--image", pinned}, nil
}

// ImageCopyArgs copies image (pinned by digest), e.g. the one staging runs, into the
// environment's own repository under the same digest; kmdeploy prints the copy's reference.
func ImageCopyArgs(image string) ([]string, error) {
	pinned, err := PinnedImage(image)
	if err != nil {
		return nil, fmt.Errorf("image to copy: %w", err)
	}
	return []string{kmdeployBin, "image", "copy", pinned}, nil
}

// ParseImageCopy reads `kmdeploy image copy`'s output: the copy, which must carry the
// digest of the source.
func ParseImageCopy(out, source string) (string, error) {
	src, err := ParseImageRef(source)
	if err != nil {
		return "", err
	}
	copied, err := ParseImageRef(strings.TrimSpace(out))
	if err != nil {
		return "", fmt.Errorf("kmdeploy image copy printed %q, not an image reference: %w", strings.TrimSpace(out), err)
	}
	if copied.Digest == "" || copied.Digest != src.Digest {
		return "", fmt.Errorf("kmdeploy image copy printed %q: want the digest %s of %s", strings.TrimSpace(out), src.Digest, source)
	}
	return copied.ByDigest()
}

// PublishWebArgs puts the bundle in dir live.
func PublishWebArgs(dir string) ([]string, error) {
	if !path.IsAbs(dir) {
		return nil, fmt.Errorf("web bundle directory %q must be absolute inside the toolbox", dir)
	}
	return []string{kmdeployBin, "publish-web", "--dir", dir}, nil
}

// StatusArgs reports what the environment runs; asJSON for machines.
func StatusArgs(asJSON bool) []string {
	if asJSON {
		return []string{kmdeployBin, "status", "--json"}
	}
	return []string{kmdeployBin, "status"}
}

// ECRLoginArgs prints the password for the environment's ECR registry (user "AWS").
func ECRLoginArgs() []string { return []string{kmdeployBin, "ecr-login"} }

// Terraform outputs the pipeline reads (infra/outputs.tf defines them).
const (
	OutputECRRepository = "ecr_repository_url"
	OutputAPIURL        = "api_url"
)

// status is the part of `kmdeploy status --json` that promote needs.
type status struct {
	Image       string `json:"image"`       // the image reference of the running task definition
	ImageDigest string `json:"imageDigest"` // the digest the running tasks report, or "unknown"
}

// ParseStatus reads `kmdeploy status --json` and returns the image the environment runs,
// pinned by digest: promote must ship exactly that image, never a tag.
func ParseStatus(out string) (string, error) {
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return "", fmt.Errorf("reading kmdeploy status --json: %w", err)
	}
	if st.Image == "" {
		return "", fmt.Errorf("kmdeploy status --json names no running image: has the environment been deployed?")
	}
	ref, err := ParseImageRef(st.Image)
	if err != nil {
		return "", fmt.Errorf("the running image cannot be promoted: %w", err)
	}
	// The digest the tasks actually run wins over the reference's own.
	if digestRE.MatchString(st.ImageDigest) {
		if ref.Digest != "" && ref.Digest != st.ImageDigest {
			return "", fmt.Errorf("the running image %s reports digest %s: the service is mid-deployment, wait and retry", st.Image, st.ImageDigest)
		}
		ref.Digest = st.ImageDigest
	}
	pinned, err := ref.ByDigest()
	if err != nil {
		return "", fmt.Errorf("the running image cannot be promoted: %w", err)
	}
	return pinned, nil
}

// trimOutput turns `kmdeploy infra output NAME` into the value, refusing an empty one.
func trimOutput(out, name string) (string, error) {
	v := strings.TrimSpace(out)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" {
		return "", fmt.Errorf("terraform output %s is empty: has `apply` run for this environment?", name)
	}
	return v, nil
}
