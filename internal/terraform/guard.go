package terraform

import (
	"fmt"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Runbook is where the guard sends users whose plan destroys data.
const Runbook = "docs/runbooks.md"

// DefaultProtectedTypes are resource types that hold data: destroying or replacing
// one loses it.
var DefaultProtectedTypes = []string{
	"aws_db_instance",
	"aws_rds_cluster",
	"aws_rds_cluster_instance",
	"aws_efs_file_system",
	"aws_dynamodb_table",
}

// Guard refuses plans that destroy or replace stateful resources.
type Guard struct {
	// Types are protected resource types (DefaultProtectedTypes when nil).
	Types []string
	// Addresses are protected addresses: a resource, all its instances
	// (aws_s3_bucket.uploads), or everything in a module (module.db).
	Addresses []string
	// Allow lists addresses the user explicitly allows to be destroyed
	// (--allow-destroy), matched like Addresses.
	Allow []string
}

// Violation is one protected resource a plan would destroy or replace.
type Violation struct {
	Address string
	Action  Action
	Reason  string
}

// Check returns the protected resources the plan destroys or replaces: refused ones,
// and those the Allow list lets through (to be logged).
func (g Guard) Check(p *tfjson.Plan) (refused, allowed []Violation) {
	types := g.Types
	if types == nil {
		types = DefaultProtectedTypes
	}
	for _, rc := range p.ResourceChanges {
		if rc.Change == nil || !rc.Change.Actions.Delete() && !rc.Change.Actions.Replace() {
			continue
		}
		reason := protectedReason(rc, types, g.Addresses)
		if reason == "" {
			continue
		}
		v := Violation{Address: rc.Address, Action: actionOf(rc.Change.Actions), Reason: reason}
		if matchesAny(rc.Address, g.Allow) {
			allowed = append(allowed, v)
		} else {
			refused = append(refused, v)
		}
	}
	return refused, allowed
}

func protectedReason(rc *tfjson.ResourceChange, types, addresses []string) string {
	switch {
	case matchesAny(rc.Address, addresses):
		return "listed in KM_PROTECTED_RESOURCES"
	case slices.Contains(types, rc.Type):
		return fmt.Sprintf("%s holds data", rc.Type)
	case rc.Type == "aws_s3_bucket" && isMediaBucket(rc):
		return "the media bucket holds user uploads"
	}
	return ""
}

// isMediaBucket recognises the media bucket by resource name or bucket name.
func isMediaBucket(rc *tfjson.ResourceChange) bool {
	if strings.Contains(strings.ToLower(rc.Name), "media") {
		return true
	}
	if before, ok := rc.Change.Before.(map[string]any); ok {
		if name, ok := before["bucket"].(string); ok && strings.Contains(strings.ToLower(name), "media") {
			return true
		}
	}
	return false
}

// matchesAny reports whether addr is one of patterns, an instance of one
// (pattern[key]), or inside one (pattern.…, for modules).
func matchesAny(addr string, patterns []string) bool {
	for _, p := range patterns {
		if p == "" {
			continue
		}
		if addr == p || strings.HasPrefix(addr, p+"[") || strings.HasPrefix(addr, p+".") {
			return true
		}
	}
	return false
}
