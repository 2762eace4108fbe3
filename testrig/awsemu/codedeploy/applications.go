package codedeploy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/knowmetools/km-release/internal/appspec"
)

func init() {
	handle("CreateApplication", (*Server).createApplication)
	handle("GetApplication", (*Server).getApplication)
	handle("BatchGetApplications", (*Server).batchGetApplications)
	handle("ListApplications", (*Server).listApplications)
	handle("DeleteApplication", (*Server).deleteApplication)
	handle("GetApplicationRevision", (*Server).getApplicationRevision)
	handle("ListApplicationRevisions", (*Server).listApplicationRevisions)
	handle("RegisterApplicationRevision", (*Server).registerApplicationRevision)
	handle("TagResource", (*Server).tagResource)
	handle("UntagResource", (*Server).untagResource)
	handle("ListTagsForResource", (*Server).listTagsForResource)
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type createApplicationInput struct {
	ApplicationName string `json:"applicationName"`
	ComputePlatform string `json:"computePlatform"`
	Tags            []tag  `json:"tags"`
}

func (s *Server) createApplication(in *createApplicationInput) (any, *APIError) {
	if in.ApplicationName == "" {
		return nil, invalid("ApplicationNameRequiredException", "The application name must be specified.")
	}
	if in.ComputePlatform == "" {
		in.ComputePlatform = "Server"
	}
	if !slices.Contains([]string{"Server", "Lambda", "ECS"}, in.ComputePlatform) {
		return nil, invalid("InvalidComputePlatformException", "Compute platform %q is not valid; use ECS, Lambda or Server.", in.ComputePlatform)
	}
	if _, ok := s.state.apps[in.ApplicationName]; ok {
		return nil, invalid("ApplicationAlreadyExistsException", "The application %s already exists with the IAM user or AWS account.", in.ApplicationName)
	}
	a := &application{info: applicationInfo{
		ApplicationID: newUUID(), ApplicationName: in.ApplicationName,
		ComputePlatform: in.ComputePlatform, CreateTime: at(time.Now()),
	}}
	s.state.apps[in.ApplicationName] = a
	s.setTagsLocked(s.arn("application", in.ApplicationName), in.Tags)
	return map[string]string{"applicationId": a.info.ApplicationID}, nil
}

func (s *Server) appLocked(name string) (*application, *APIError) {
	if name == "" {
		return nil, invalid("ApplicationNameRequiredException", "The application name must be specified.")
	}
	a, ok := s.state.apps[name]
	if !ok {
		return nil, invalid("ApplicationDoesNotExistException", "No application found for name: %s", name)
	}
	return a, nil
}

type applicationNameInput struct {
	ApplicationName string `json:"applicationName"`
}

func (s *Server) getApplication(in *applicationNameInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"application": a.info}, nil
}

func (s *Server) batchGetApplications(in *struct {
	ApplicationNames []string `json:"applicationNames"`
}) (any, *APIError) {
	out := []applicationInfo{}
	for _, n := range in.ApplicationNames {
		a, err := s.appLocked(n)
		if err != nil {
			return nil, err
		}
		out = append(out, a.info)
	}
	return map[string]any{"applicationsInfo": out}, nil
}

func (s *Server) listApplications(_ *struct{}) (any, *APIError) {
	names := []string{}
	for n := range s.state.apps {
		names = append(names, n)
	}
	slices.Sort(names)
	return map[string]any{"applications": names}, nil
}

func (s *Server) deleteApplication(in *applicationNameInput) (any, *APIError) {
	if _, ok := s.state.apps[in.ApplicationName]; !ok {
		return nil, nil // AWS answers success for an unknown application
	}
	for key, g := range s.state.groups {
		if g.ApplicationName == in.ApplicationName {
			delete(s.state.groups, key)
		}
	}
	delete(s.state.apps, in.ApplicationName)
	return nil, nil
}

// revisionKey identifies a revision by content, as AWS does for inline revisions.
func revisionKey(loc *revisionLocation) string {
	b, _ := json.Marshal(struct {
		T string
		C string
		S any
		G any
	}{loc.RevisionType, contentOf(loc), loc.S3Location, loc.GitHubLocation})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func contentOf(loc *revisionLocation) string {
	switch {
	case loc.AppSpecContent != nil:
		return loc.AppSpecContent.Content
	case loc.String != nil:
		return loc.String.Content
	}
	return ""
}

// withSha256 returns loc with the sha256 AWS adds to inline contents.
func withSha256(loc revisionLocation) revisionLocation {
	fill := func(c *rawContent) *rawContent {
		if c == nil {
			return nil
		}
		cp := *c
		cp.Sha256 = appspec.Sha256(cp.Content)
		return &cp
	}
	loc.AppSpecContent = fill(loc.AppSpecContent)
	loc.String = fill(loc.String)
	return loc
}

// recordRevisionLocked remembers a revision of an application (registered or deployed).
func (a *application) recordRevisionLocked(loc revisionLocation, group, description string, used bool) {
	key := revisionKey(&loc)
	now := time.Now()
	var r *revisionRecord
	for _, x := range a.revisions {
		if x.key == key {
			r = x
		}
	}
	if r == nil {
		r = &revisionRecord{loc: withSha256(loc), key: key, registered: now}
		a.revisions = append(a.revisions, r)
	}
	if description != "" {
		r.description = description
	}
	if used {
		if r.firstUsed.IsZero() {
			r.firstUsed = now
		}
		r.lastUsed = now
		if group != "" && !slices.Contains(r.groups, group) {
			r.groups = append(r.groups, group)
		}
	}
}

type revisionInput struct {
	ApplicationName string            `json:"applicationName"`
	Revision        *revisionLocation `json:"revision"`
	Description     string            `json:"description"`
}

func (s *Server) getApplicationRevision(in *revisionInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if in.Revision == nil {
		return nil, invalid("RevisionRequiredException", "The revision must be specified.")
	}
	key := revisionKey(in.Revision)
	for _, r := range a.revisions {
		if r.key == key {
			return map[string]any{
				"applicationName": a.info.ApplicationName,
				"revision":        r.loc,
				"revisionInfo": map[string]any{
					"description":      r.description,
					"deploymentGroups": r.groups,
					"firstUsedTime":    at(r.firstUsed),
					"lastUsedTime":     at(r.lastUsed),
					"registerTime":     at(r.registered),
				},
			}, nil
		}
	}
	return nil, invalid("RevisionDoesNotExistException", "No application revision found for revision.")
}

func (s *Server) listApplicationRevisions(in *applicationNameInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	out := []revisionLocation{}
	for _, r := range a.revisions {
		out = append(out, r.loc)
	}
	return map[string]any{"revisions": out}, nil
}

func (s *Server) registerApplicationRevision(in *revisionInput) (any, *APIError) {
	a, err := s.appLocked(in.ApplicationName)
	if err != nil {
		return nil, err
	}
	if in.Revision == nil {
		return nil, invalid("RevisionRequiredException", "The revision must be specified.")
	}
	a.recordRevisionLocked(*in.Revision, "", in.Description, false)
	return nil, nil
}

func (s *Server) setTagsLocked(arn string, tags []tag) {
	if len(tags) == 0 {
		return
	}
	m := s.state.tags[arn]
	if m == nil {
		m = map[string]string{}
		s.state.tags[arn] = m
	}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
}

func (s *Server) tagResource(in *struct {
	ResourceArn string `json:"ResourceArn"`
	Tags        []tag  `json:"Tags"`
}) (any, *APIError) {
	s.setTagsLocked(in.ResourceArn, in.Tags)
	return nil, nil
}

func (s *Server) untagResource(in *struct {
	ResourceArn string   `json:"ResourceArn"`
	TagKeys     []string `json:"TagKeys"`
}) (any, *APIError) {
	for _, k := range in.TagKeys {
		delete(s.state.tags[in.ResourceArn], k)
	}
	return nil, nil
}

func (s *Server) listTagsForResource(in *struct {
	ResourceArn string `json:"ResourceArn"`
}) (any, *APIError) {
	out := []tag{}
	for k, v := range s.state.tags[in.ResourceArn] {
		out = append(out, tag{k, v})
	}
	slices.SortFunc(out, func(a, b tag) int { return cmp.Compare(a.Key, b.Key) })
	return map[string]any{"Tags": out}, nil
}
