package awsemu

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/knowmetools/km-release/testrig/awsemu/iampolicy"
)

// ociRegistry is the registry behind ECR: go-containerregistry's in-memory registry,
// plus ECR's rules that a repository must exist before a push, and that a pushed
// manifest is recorded in ECR (moto) with its digest so DescribeImages, ListImages
// and BatchGetImage agree with the registry.
type ociRegistry struct {
	e  *Emulator
	mu sync.RWMutex
	h  http.Handler
}

func newOCIRegistry(e *Emulator) *ociRegistry {
	r := &ociRegistry{e: e}
	r.reset()
	return r
}

func (o *ociRegistry) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.h = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// splitRegistryPath splits "/v2/<name>/<kind>/<rest>" where kind is blobs or manifests.
func splitRegistryPath(p string) (name, kind, rest string, ok bool) {
	p = strings.TrimPrefix(p, "/v2/")
	for _, k := range []string{"/manifests/", "/blobs/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return p[:i], strings.Trim(k, "/"), p[i+len(k):], true
		}
	}
	return "", "", "", false
}

func (o *ociRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.RLock()
	h := o.h
	o.mu.RUnlock()

	name, kind, ref, ok := splitRegistryPath(r.URL.Path)
	writes := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch
	if ok {
		if err := o.authorize(r, name, kind, writes); err != nil {
			writeRegistryError(w, http.StatusForbidden, "DENIED", err.Error())
			return
		}
	}
	if !ok || !writes {
		h.ServeHTTP(w, r)
		return
	}
	ecrc := ecr.NewFromConfig(o.e.backend)
	if _, err := ecrc.DescribeRepositories(r.Context(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}}); err != nil {
		writeRegistryError(w, http.StatusNotFound, "NAME_UNKNOWN",
			fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, AccountID))
		return
	}
	if kind != "manifests" || r.Method != http.MethodPut {
		h.ServeHTTP(w, r)
		return
	}
	body := readBody(r)
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	if rec.status/100 != 2 {
		return
	}
	sum := sha256.Sum256(body)
	in := &ecr.PutImageInput{
		RepositoryName:         aws.String(name),
		ImageManifest:          aws.String(string(body)),
		ImageManifestMediaType: aws.String(r.Header.Get("Content-Type")),
		ImageDigest:            aws.String("sha256:" + hex.EncodeToString(sum[:])),
	}
	if !strings.HasPrefix(ref, "sha256:") {
		in.ImageTag = aws.String(ref)
	}
	if _, err := ecrc.PutImage(r.Context(), in); err != nil {
		var exists *ecrtypes.ImageAlreadyExistsException
		if !errors.As(err, &exists) {
			o.e.opts.Logf("awsemu: registry: record %s:%s in ECR: %v", name, ref, err)
		}
	}
}

// registryTokenPrefix marks the password of an ECR token the emulation issued to a
// role session: requests made with it are restricted to that role's policies.
const registryTokenPrefix = "session:"

// authorize checks a registry request made with a role session's ECR token against
// the role's policies, with the action ECR checks for it; anonymous requests are the
// account's administrator (the rig's own pushes).
func (o *ociRegistry) authorize(r *http.Request, repo, kind string, writes bool) error {
	_, password, ok := r.BasicAuth()
	key, isSession := strings.CutPrefix(password, registryTokenPrefix)
	if !ok || !isSession {
		return nil
	}
	o.e.authz.mu.Lock()
	s, known := o.e.authz.sessions[key]
	o.e.authz.mu.Unlock()
	if !known {
		return fmt.Errorf("the authorization token is not valid")
	}
	action := "ecr:BatchGetImage"
	switch {
	case kind == "blobs" && r.Method == http.MethodHead:
		action = "ecr:BatchCheckLayerAvailability" // a push asking what the registry has
	case kind == "blobs" && !writes:
		action = "ecr:GetDownloadUrlForLayer"
	case kind == "blobs" && r.Method == http.MethodPost:
		action = "ecr:InitiateLayerUpload"
	case kind == "blobs" && r.Method == http.MethodPatch:
		action = "ecr:UploadLayerPart"
	case kind == "blobs":
		action = "ecr:CompleteLayerUpload"
	case writes:
		action = "ecr:PutImage"
	}
	return o.e.authz.authorize(r.Context(), s, []iampolicy.Request{{Action: action, Resources: []string{repositoryARN(repo)}}})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func writeRegistryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
	_, _ = w.Write(b)
}

// fixECR points repository URIs and the authorization proxy endpoint at the registry.
// A token issued to a role session carries the session, so the registry can hold
// the session's requests to its role's policies.
func (e *Emulator) fixECR(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	session := ""
	if _, ok := e.authz.sessionOf(resp.Request); ok {
		session = accessKeyOf(resp.Request)
	}
	host := e.RegistryHost()
	return rewriteBody(resp, func(b []byte) ([]byte, error) {
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return b, nil
		}
		fixRepo := func(v any) {
			if repo, ok := v.(map[string]any); ok {
				if name, ok := repo["repositoryName"].(string); ok {
					repo["repositoryUri"] = host + "/" + name
				}
			}
		}
		fixRepo(doc["repository"])
		if repos, ok := doc["repositories"].([]any); ok {
			for _, r := range repos {
				fixRepo(r)
			}
		}
		if auths, ok := doc["authorizationData"].([]any); ok {
			for _, a := range auths {
				if m, ok := a.(map[string]any); ok {
					m["proxyEndpoint"] = "http://" + host
					if session != "" {
						m["authorizationToken"] = base64.StdEncoding.EncodeToString([]byte("AWS:" + registryTokenPrefix + session))
					}
				}
			}
		}
		return json.Marshal(doc)
	})
}
