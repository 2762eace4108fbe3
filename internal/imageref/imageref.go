// Package imageref parses container image references, resolves a tag to the digest the
// registry serves, checks that an image exists, and decodes ECR's registry credentials.
package imageref

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotPinned is returned for an image reference without a digest when tags are not
// allowed: a tag can move between the check and the deployment, a digest cannot.
var ErrNotPinned = errors.New("image is not pinned by digest")

// Ref is a parsed image reference.
type Ref struct {
	ref name.Reference
}

// Parse parses ref. Loopback registries are plain HTTP (local registries and the
// emulation), every other registry is HTTPS.
func Parse(ref string) (Ref, error) {
	var opts []name.Option
	if isLoopbackRegistry(ref) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(strings.TrimSpace(ref), opts...)
	if err != nil {
		return Ref{}, fmt.Errorf("image %q is not a valid image reference (want REGISTRY/REPOSITORY@sha256:DIGEST): %w", ref, err)
	}
	return Ref{ref: r}, nil
}

// Pinned reports whether the reference names a digest.
func (i Ref) Pinned() bool {
	_, ok := i.ref.(name.Digest)
	return ok
}

// Registry is the registry host of the reference.
func (i Ref) Registry() string { return i.ref.Context().RegistryStr() }

// String is the reference as given (normalised by go-containerregistry only in that
// digest and tag forms stay as written).
func (i Ref) String() string { return i.ref.String() }

// isLoopbackRegistry tells whether ref's registry host is 127.0.0.1, ::1 or localhost.
func isLoopbackRegistry(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ecrHost matches an ECR private registry host.
var ecrHost = regexp.MustCompile(`^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// TokenAPI is the part of the ECR client that hands out registry credentials.
type TokenAPI interface {
	GetAuthorizationToken(context.Context, *ecr.GetAuthorizationTokenInput, ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// Resolver turns an image tag into the digest the registry serves for it.
type Resolver struct {
	// ECR, when set, provides registry credentials for ECR registries and for the
	// registry GetAuthorizationToken names as its proxy endpoint.
	ECR TokenAPI
}

// Resolve returns ref pinned to the digest the registry serves now. A reference already
// pinned is returned unchanged without contacting the registry.
func (r Resolver) Resolve(ctx context.Context, ref Ref) (Ref, error) {
	if ref.Pinned() {
		return ref, nil
	}
	auth, err := r.auth(ctx, ref.Registry())
	if err != nil {
		return Ref{}, err
	}
	desc, err := remote.Head(ref.ref, remote.WithContext(ctx), remote.WithAuth(auth))
	if err != nil {
		return Ref{}, fmt.Errorf("resolve %s to a digest: %w", ref, explainRefusal(err))
	}
	// Keep the tag for readers and add the digest that ECS will actually pull.
	pinned, err := Parse(ref.String() + "@" + desc.Digest.String())
	if err != nil {
		return Ref{}, err
	}
	return pinned, nil
}

// ErrImageNotFound is a reference the registry says it does not have.
var ErrImageNotFound = errors.New("image not found in the registry")

// Check asks the registry whether ref exists. It returns ErrImageNotFound when the
// registry says no, and another error when it cannot tell (unreachable, no access).
func (r Resolver) Check(ctx context.Context, ref Ref) error {
	auth, err := r.auth(ctx, ref.Registry())
	if err != nil {
		return err
	}
	_, err = remote.Head(ref.ref, remote.WithContext(ctx), remote.WithAuth(auth))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %s (was it pushed? check the digest)", ErrImageNotFound, ref)
	}
	if err != nil {
		return fmt.Errorf("check %s in the registry: %w", ref, explainRefusal(err))
	}
	return nil
}

// explainRefusal adds what a refused registry read usually means: the answer to a
// HEAD request has no body to say it.
func explainRefusal(err error) error {
	if refused(err) {
		return fmt.Errorf("%w; the registry refused the credentials: on ECR, the role needs ecr:BatchGetImage on the repository", err)
	}
	return err
}

// refused tells whether the registry refused the credentials.
func refused(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && (terr.StatusCode == http.StatusForbidden || terr.StatusCode == http.StatusUnauthorized)
}

func (r Resolver) auth(ctx context.Context, registry string) (authn.Authenticator, error) {
	if r.ECR == nil {
		return authn.Anonymous, nil
	}
	out, err := r.ECR.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		// A denial is a role missing ecr:GetAuthorizationToken, whatever the registry's
		// name: going on anonymously would only hide it.
		var api smithy.APIError
		if ecrHost.MatchString(registry) || errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
			return nil, fmt.Errorf("get ECR credentials for %s: %w", registry, err)
		}
		return authn.Anonymous, nil
	}
	for _, d := range out.AuthorizationData {
		endpoint := aws.ToString(d.ProxyEndpoint)
		host := endpoint
		if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
			host = u.Host
		}
		if host != registry && !ecrHost.MatchString(registry) {
			continue
		}
		user, pass, err := DecodeECRToken(aws.ToString(d.AuthorizationToken))
		if err != nil {
			return nil, err
		}
		return &authn.Basic{Username: user, Password: pass}, nil
	}
	return authn.Anonymous, nil
}

// DecodeECRToken splits an ECR authorization token (base64 of USER:PASSWORD) into
// its registry credentials. Errors never include the token.
func DecodeECRToken(token string) (user, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return "", "", errors.New("decode ECR authorization token: not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("decode ECR authorization token: not USER:PASSWORD")
	}
	return user, password, nil
}
