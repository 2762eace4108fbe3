package iampolicy

import (
	"fmt"
	"strings"
)

// Request is one authorisation question.
type Request struct {
	Action    string              // "service:Operation", e.g. "ecs:RunTask"; compared case-insensitively, like AWS
	Resources []string            // resource ARNs the action applies to; empty means "*" (actions without resource-level permissions)
	Context   map[string][]string // condition keys and their values; keys compared case-insensitively
}

// Decision is the outcome of an evaluation.
type Decision int

const (
	ImplicitDeny Decision = iota // no statement allows
	Allow
	ExplicitDeny // a Deny statement matches: wins over any Allow
)

func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Evaluate applies identity-based policies to req, AWS's way: an explicit
// Deny in any policy wins; otherwise Allow if some Allow statement matches;
// otherwise ImplicitDeny. With several Resources the request is allowed only
// if every resource is allowed, and denied if any is explicitly denied.
// Statements with Principal or NotPrincipal are ignored (identity policies
// have none). It also returns the deciding statement (nil for ImplicitDeny).
//
// A statement with neither Resource nor NotResource matches no resource
// here: IAM rejects such identity policies, so it must not grant anything.
func Evaluate(policies []*Policy, req Request) (Decision, *Statement) {
	resources := req.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	var firstAllow *Statement
	allAllowed := true
	for _, res := range resources {
		var allow *Statement
		for _, p := range policies {
			if p == nil {
				continue
			}
			for i := range p.Statements {
				st := &p.Statements[i]
				if st.Principal != nil || st.NotPrincipal != nil ||
					!st.matchesAction(req.Action) || !st.matchesResource(res) ||
					!conditionsHold(st.Conditions, req.Context) {
					continue
				}
				if st.Effect == "Deny" {
					return ExplicitDeny, st
				}
				if allow == nil {
					allow = st
				}
			}
		}
		if allow == nil {
			// Keep scanning the other resources: one of them may still be
			// explicitly denied, which must be reported as such.
			allAllowed = false
		} else if firstAllow == nil {
			firstAllow = allow
		}
	}
	if !allAllowed {
		return ImplicitDeny, nil
	}
	return Allow, firstAllow
}

// Principal is who asks to assume a role, for trust policies.
type Principal struct {
	Type string // "Service", "AWS", "Federated"
	ID   string // e.g. "lambda.amazonaws.com", "arn:aws:iam::123456789012:root", an OIDC provider ARN
}

// AllowsAssume evaluates a role's trust policy for principal performing
// action (sts:AssumeRole, sts:AssumeRoleWithWebIdentity, ...) with the given
// condition context. Deny wins over Allow; statements without Principal or
// NotPrincipal are ignored; Resource elements are ignored (the role itself
// is the resource).
func (p *Policy) AllowsAssume(principal Principal, action string, context map[string][]string) bool {
	if p == nil {
		return false
	}
	allowed := false
	for i := range p.Statements {
		st := &p.Statements[i]
		var who bool
		switch {
		case st.Principal != nil:
			who = principalMatches(st.Principal, principal)
		case st.NotPrincipal != nil:
			who = !principalMatches(st.NotPrincipal, principal)
		}
		if !who || !st.matchesAction(action) || !conditionsHold(st.Conditions, context) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st *Statement) matchesAction(action string) bool {
	if st.NotActions != nil {
		return !anyMatch(st.NotActions, action, true)
	}
	return anyMatch(st.Actions, action, true)
}

func (st *Statement) matchesResource(res string) bool {
	switch {
	case st.NotResources != nil:
		return !anyMatch(st.NotResources, res, false)
	case st.Resources != nil:
		return anyMatch(st.Resources, res, false)
	}
	return false
}

func anyMatch(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			if wildcardMatch(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// principalMatches reports whether any entry of a Principal block names who.
// Principal types are compared case-sensitively as IAM writes them, except
// that "*" (stored as {"AWS": ["*"]}) matches every principal of every type.
func principalMatches(block map[string][]string, who Principal) bool {
	for typ, ids := range block {
		for _, id := range ids {
			if typ == "AWS" && id == "*" {
				return true
			}
			if typ != who.Type {
				continue
			}
			switch {
			case id == "*", id == who.ID:
				return true
			case typ == "Service" && strings.EqualFold(id, who.ID):
				return true
			case typ == "AWS":
				if acct := accountOf(id); acct != "" &&
					(who.ID == acct || strings.Contains(who.ID, ":"+acct+":")) {
					return true
				}
			}
		}
	}
	return false
}

// accountOf returns ACCOUNT for "arn:PARTITION:iam::ACCOUNT:root" or a bare
// 12-digit account id, both of which mean "any principal of that account".
func accountOf(id string) string {
	if isAccountID(id) {
		return id
	}
	parts := strings.Split(id, ":")
	if len(parts) == 6 && parts[0] == "arn" && parts[2] == "iam" && parts[5] == "root" && isAccountID(parts[4]) {
		return parts[4]
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// wildcardMatch reports whether s matches pattern, where '*' matches any run
// of characters (including ':' and '/') and '?' exactly one character. It is
// the classic linear backtracking matcher: on a mismatch, retry from the
// last '*' with one more character consumed.
func wildcardMatch(pattern, s string) bool {
	pat, str := []rune(pattern), []rune(s)
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(str) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case p < len(pat) && (pat[p] == '?' || pat[p] == str[i]):
			p++
			i++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
