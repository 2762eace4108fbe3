package pipeline

import (
	"fmt"
	"regexp"
	"strings"
)

// Images are the base images every recipe starts from. They are arguments of the module
// (so a user can pin them by digest, or point them at a mirror) with the defaults below.
//
// The defaults are tags, not digests: a digest can only be named honestly after pulling the
// image, and the machines this module was written on reach no container registry. Pin them
// with `--go-image golang:1.26.8-bookworm@sha256:...` where reproducibility matters.
type Images struct {
	Go        string // builds kmdeploy, the Lambdas and Go API sources; runs Go tests
	Node      string // tests and builds the web app
	Python    string // tests Django API sources (km-api)
	Terraform string // provides the terraform binary of the toolbox
	Base      string // the toolbox's base: small, with CA certificates
}

// Default base images (tags; see Images for why not digests).
const (
	DefaultGoImage        = "golang:1.26.8-bookworm"
	DefaultNodeImage      = "node:20-bookworm-slim"
	DefaultPythonImage    = "python:3.12-slim-bookworm"
	DefaultTerraformImage = "hashicorp/terraform:1.11.4"
	DefaultBaseImage      = "alpine:3.21"
)

// DefaultImages returns the default base images.
func DefaultImages() Images {
	return Images{
		Go:        DefaultGoImage,
		Node:      DefaultNodeImage,
		Python:    DefaultPythonImage,
		Terraform: DefaultTerraformImage,
		Base:      DefaultBaseImage,
	}
}

// WithDefaults fills the empty fields with the defaults.
func (i Images) WithDefaults() Images {
	d := DefaultImages()
	for _, f := range []struct{ v, def *string }{
		{&i.Go, &d.Go}, {&i.Node, &d.Node}, {&i.Python, &d.Python},
		{&i.Terraform, &d.Terraform}, {&i.Base, &d.Base},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return i
}

// Validate parses every reference, naming each bad one.
func (i Images) Validate() error {
	var problems []string
	for _, f := range []struct{ flag, ref string }{
		{"--go-image", i.Go}, {"--node-image", i.Node}, {"--python-image", i.Python},
		{"--terraform-image", i.Terraform}, {"--base-image", i.Base},
	} {
		if _, err := ParseImageRef(f.ref); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.flag, err))
		}
	}
	if len(problems) > 0 {
		return &ConfigError{Problems: problems}
	}
	return nil
}

// ImageRef is a parsed container image reference: repository[:tag][@digest].
type ImageRef struct {
	Repository string // e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/knowme-api
	Tag        string // optional
	Digest     string // optional, "sha256:<64 hex>"
}

var (
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// Lower-case path components separated by '/', optionally after a registry host[:port].
	repoRE = regexp.MustCompile(`^([A-Za-z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$`)
)

// ParseImageRef parses repository[:tag][@sha256:digest].
func ParseImageRef(s string) (ImageRef, error) {
	if s == "" {
		return ImageRef{}, fmt.Errorf("empty image reference")
	}
	var ref ImageRef
	rest := s
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		ref.Digest = rest[at+1:]
		rest = rest[:at]
		if !digestRE.MatchString(ref.Digest) {
			return ImageRef{}, fmt.Errorf("%q: digest must be sha256: followed by 64 lower-case hex characters", s)
		}
	}
	// A ':' after the last '/' separates the tag; one before it is a registry port.
	if colon := strings.LastIndex(rest, ":"); colon > strings.LastIndex(rest, "/") {
		ref.Tag = rest[colon+1:]
		rest = rest[:colon]
		if !tagRE.MatchString(ref.Tag) {
			return ImageRef{}, fmt.Errorf("%q: invalid tag %q", s, ref.Tag)
		}
	}
	if !repoRE.MatchString(rest) {
		return ImageRef{}, fmt.Errorf("%q: invalid repository name %q", s, rest)
	}
	ref.Repository = rest
	return ref, nil
}

// Pinned reports whether the reference names an exact image (by digest).
func (r ImageRef) Pinned() bool { return r.Digest != "" }

// String renders the reference back.
func (r ImageRef) String() string {
	s := r.Repository
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// ByDigest is the reference without its tag: what a deployment should run, since a tag can
// move and a digest cannot.
func (r ImageRef) ByDigest() (string, error) {
	if !r.Pinned() {
		return "", fmt.Errorf("image %s is not pinned by digest: use repository@sha256:<digest>", r)
	}
	return r.Repository + "@" + r.Digest, nil
}

// Registry is the registry host of the reference (Docker Hub when the first path component
// does not look like a host).
func (r ImageRef) Registry() string {
	first, _, found := strings.Cut(r.Repository, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

// PinnedImage parses ref and requires a digest, returning repository@digest.
func PinnedImage(ref string) (string, error) {
	parsed, err := ParseImageRef(ref)
	if err != nil {
		return "", err
	}
	return parsed.ByDigest()
}
