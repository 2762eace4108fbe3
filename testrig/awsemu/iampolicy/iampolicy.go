// Package iampolicy parses AWS IAM policy documents and evaluates them the
// way AWS does, closely enough for a local AWS emulation used in tests:
// identity-based policies (Evaluate) and role trust policies (AllowsAssume).
//
// Deliberate limits, so tests do not mistake them for AWS behaviour:
//   - Policy variables such as ${aws:username} are not substituted; they are
//     compared literally.
//   - Only the condition operators listed in condition.go are evaluated; an
//     unknown operator makes its condition false, so the statement does not
//     apply whatever its Effect (see evalCondition).
//   - Permissions boundaries, SCPs, session policies and resource-based
//     policies other than trust policies are not modelled.
package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Policy is a parsed IAM policy document (identity-based or a role's trust policy).
type Policy struct {
	Statements []Statement
}

// Statement is one statement; the string-or-list elements are normalised to lists.
type Statement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Actions      []string
	NotActions   []string
	Resources    []string
	NotResources []string
	Principal    map[string][]string // "AWS", "Service", "Federated", "CanonicalUser"; "*" alone becomes {"AWS": {"*"}}
	NotPrincipal map[string][]string
	Conditions   []Condition
}

// Condition is one operator/key/values entry of a Condition block.
type Condition struct {
	Operator string   // as written, e.g. "StringEquals", "ArnLike", "ForAnyValue:StringLike", "BoolIfExists"
	Key      string   // as written, e.g. "ecs:cluster"
	Values   []string // numbers and booleans as their JSON text ("true", "5")
}

// principalTypes are the keys IAM accepts inside Principal/NotPrincipal.
var principalTypes = map[string]bool{"AWS": true, "Service": true, "Federated": true, "CanonicalUser": true}

// Parse reads a policy document (JSON; Version 2012-10-17 or 2008-10-17; a
// single Statement object or a list). It also accepts the URL-encoded form
// IAM returns from GetRolePolicy/GetPolicyVersion/GetRole (%7B...).
//
// Element names are case-sensitive and unknown elements are rejected, as IAM
// does (MalformedPolicyDocument), so a typo such as "Actions" fails loudly
// instead of silently granting nothing.
func Parse(doc string) (*Policy, error) {
	doc = strings.TrimSpace(doc)
	if doc != "" && doc[0] != '{' && strings.Contains(doc, "%") {
		// PathUnescape, not QueryUnescape: IAM encodes per RFC 3986, so a
		// literal '+' in the document is a plus, not a space.
		dec, err := url.PathUnescape(doc)
		if err != nil {
			return nil, fmt.Errorf("iampolicy: bad URL-encoded document: %w", err)
		}
		doc = strings.TrimSpace(dec)
	}
	top, err := decodeObject([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("iampolicy: document is not a JSON object: %w", err)
	}
	for k := range top {
		if k != "Version" && k != "Id" && k != "Statement" {
			return nil, fmt.Errorf("iampolicy: unknown policy element %q", k)
		}
	}
	if raw, ok := top["Version"]; ok {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || (v != "2012-10-17" && v != "2008-10-17") {
			return nil, fmt.Errorf("iampolicy: Version must be \"2012-10-17\" or \"2008-10-17\", got %s", raw)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, errors.New("iampolicy: missing Statement")
	}
	var rawStmts []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &rawStmts); err != nil {
			return nil, fmt.Errorf("iampolicy: Statement: %w", err)
		}
	} else {
		rawStmts = []json.RawMessage{raw}
	}
	if len(rawStmts) == 0 {
		return nil, errors.New("iampolicy: Statement is empty")
	}
	p := &Policy{}
	for i, rs := range rawStmts {
		st, err := parseStatement(rs)
		if err != nil {
			return nil, fmt.Errorf("iampolicy: statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// decodeObject decodes exactly one JSON object, keeping raw values; a map is
// used (not a struct) because encoding/json matches struct fields
// case-insensitively, and IAM element names are case-sensitive.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	var m map[string]json.RawMessage
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null")
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("trailing data after the JSON object")
	}
	return m, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var st Statement
	m, err := decodeObject(raw)
	if err != nil {
		return st, fmt.Errorf("not a JSON object: %w", err)
	}
	for k, v := range m {
		switch k {
		case "Sid":
			err = json.Unmarshal(v, &st.Sid)
		case "Effect":
			err = json.Unmarshal(v, &st.Effect)
		case "Action":
			st.Actions, err = stringOrList(v)
		case "NotAction":
			st.NotActions, err = stringOrList(v)
		case "Resource":
			st.Resources, err = stringOrList(v)
		case "NotResource":
			st.NotResources, err = stringOrList(v)
		case "Principal":
			st.Principal, err = parsePrincipal(v)
		case "NotPrincipal":
			st.NotPrincipal, err = parsePrincipal(v)
		case "Condition":
			st.Conditions, err = parseConditions(v)
		default:
			err = errors.New("unknown element")
		}
		if err != nil {
			return st, fmt.Errorf("%s: %w", k, err)
		}
	}
	_, hasAction := m["Action"]
	_, hasNotAction := m["NotAction"]
	_, hasResource := m["Resource"]
	_, hasNotResource := m["NotResource"]
	_, hasPrincipal := m["Principal"]
	_, hasNotPrincipal := m["NotPrincipal"]
	switch {
	case st.Effect == "":
		return st, errors.New("missing Effect")
	case st.Effect != "Allow" && st.Effect != "Deny": // case-sensitive, like IAM
		return st, fmt.Errorf("Effect must be \"Allow\" or \"Deny\", got %q", st.Effect)
	case hasAction && hasNotAction:
		return st, errors.New("both Action and NotAction")
	case !hasAction && !hasNotAction:
		return st, errors.New("missing Action or NotAction")
	case len(st.Actions)+len(st.NotActions) == 0:
		return st, errors.New("empty Action/NotAction")
	case hasResource && hasNotResource:
		return st, errors.New("both Resource and NotResource")
	case hasPrincipal && hasNotPrincipal:
		return st, errors.New("both Principal and NotPrincipal")
	}
	for _, a := range slices.Concat(st.Actions, st.NotActions) {
		if a != "*" && !strings.Contains(a, ":") {
			return st, fmt.Errorf("action %q is not \"service:Operation\"", a)
		}
	}
	return st, nil
}

// stringOrList decodes IAM's "string or list of strings" shape.
func stringOrList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("want a string or a list of strings")
	}
	return list, nil
}

func parsePrincipal(raw json.RawMessage) (map[string][]string, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("string principal must be \"*\", got %q", star)
		}
		return map[string][]string{"AWS": {"*"}}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
		return nil, errors.New("want \"*\" or a non-empty object")
	}
	out := make(map[string][]string, len(m))
	for typ, v := range m {
		if !principalTypes[typ] {
			return nil, fmt.Errorf("unknown principal type %q", typ)
		}
		ids, err := stringOrList(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", typ, err)
		}
		out[typ] = ids
	}
	return out, nil
}

// parseConditions flattens {"Op": {"Key": value-or-list}} into entries, in
// sorted order so that parsing is deterministic.
func parseConditions(raw json.RawMessage) ([]Condition, error) {
	var block map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &block); err != nil {
		return nil, errors.New("want {\"Operator\": {\"key\": values}}")
	}
	var out []Condition
	for _, op := range slices.Sorted(maps.Keys(block)) {
		if len(block[op]) == 0 {
			return nil, fmt.Errorf("%s: no condition keys", op)
		}
		for _, key := range slices.Sorted(maps.Keys(block[op])) {
			vals, err := conditionValues(block[op][key])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", op, key, err)
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	return out, nil
}

// conditionValues accepts a scalar or a list of scalars; numbers and
// booleans keep their JSON text, because IAM compares them as strings
// unless the operator says otherwise.
func conditionValues(raw json.RawMessage) ([]string, error) {
	var items []json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
	} else {
		items = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		d := json.NewDecoder(bytes.NewReader(it))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		case bool:
			out = append(out, fmt.Sprint(x))
		default:
			return nil, fmt.Errorf("condition value %s is not a string, number or boolean", it)
		}
	}
	return out, nil
}
