package iampolicy

import (
	"cmp"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition evaluation, following the IAM reference pages "Condition
// operators", "Conditions with multiple context keys or values" and
// "Single-valued vs. multivalued context keys":
//
//   - Entries (operator × key) are ANDed. Within one entry the policy values
//     are ORed for positive operators and NORed for negated ones (a
//     StringNotEquals with [a, b] holds when the value is neither a nor b).
//   - Context keys are looked up case-insensitively; a key with no values
//     counts as absent.
//   - Absent key: positive operators (StringEquals, ArnLike, Bool, ...) are
//     false; negated operators (StringNotEquals, ArnNotLike, NumericNotEquals,
//     DateNotEquals, NotIpAddress, ...) are true, as the AWS docs state.
//     "...IfExists" is true whatever the rest of the operator says, including
//     with a set prefix. "Null" is true for "true" when the key is absent and
//     for "false" when it is present. "ForAllValues:" is true (vacuously);
//     "ForAnyValue:" is false.
//   - Several context values without a set prefix: a positive operator holds
//     if any value matches; a negated one if no value matches.
//     "ForAnyValue:" holds if some context value satisfies the operator,
//     "ForAllValues:" if every one does (per value, negated operators mean
//     "matches none of the policy values").
//   - Operator names are matched case-insensitively. Anything not in the
//     table below (BinaryEquals, NullIfExists, a misspelling, ...) makes
//     the condition false, so the statement does not apply, for Allow and
//     Deny alike: a test emulator should rather refuse than grant.
//   - Policy variables (${aws:username}) are not substituted: compared literally.

// operator compares one context value (ctx) with one policy value (pol).
type operator struct {
	match   func(pol, ctx string) bool
	negated bool
}

var operators = map[string]operator{
	"stringequals":              {match: func(p, c string) bool { return p == c }},
	"stringnotequals":           {match: func(p, c string) bool { return p == c }, negated: true},
	"stringequalsignorecase":    {match: strings.EqualFold},
	"stringnotequalsignorecase": {match: strings.EqualFold, negated: true},
	"stringlike":                {match: wildcardMatch},
	"stringnotlike":             {match: wildcardMatch, negated: true},

	// AWS documents ArnEquals as behaving like ArnLike (wildcards allowed).
	"arnequals":    {match: arnMatch},
	"arnlike":      {match: arnMatch},
	"arnnotequals": {match: arnMatch, negated: true},
	"arnnotlike":   {match: arnMatch, negated: true},

	"bool": {match: strings.EqualFold},

	"numericequals":            {match: ordered(parseNumber, cmp.Compare[float64], equal)},
	"numericnotequals":         {match: ordered(parseNumber, cmp.Compare[float64], equal), negated: true},
	"numericlessthan":          {match: ordered(parseNumber, cmp.Compare[float64], less)},
	"numericlessthanequals":    {match: ordered(parseNumber, cmp.Compare[float64], lessEq)},
	"numericgreaterthan":       {match: ordered(parseNumber, cmp.Compare[float64], greater)},
	"numericgreaterthanequals": {match: ordered(parseNumber, cmp.Compare[float64], greaterEq)},

	"dateequals":            {match: ordered(parseDate, time.Time.Compare, equal)},
	"datenotequals":         {match: ordered(parseDate, time.Time.Compare, equal), negated: true},
	"datelessthan":          {match: ordered(parseDate, time.Time.Compare, less)},
	"datelessthanequals":    {match: ordered(parseDate, time.Time.Compare, lessEq)},
	"dategreaterthan":       {match: ordered(parseDate, time.Time.Compare, greater)},
	"dategreaterthanequals": {match: ordered(parseDate, time.Time.Compare, greaterEq)},

	"ipaddress":    {match: ipMatch},
	"notipaddress": {match: ipMatch, negated: true},
}

func conditionsHold(conds []Condition, ctx map[string][]string) bool {
	for _, c := range conds {
		if !evalCondition(c, ctx) {
			return false
		}
	}
	return true
}

func evalCondition(c Condition, ctx map[string][]string) bool {
	name, set := c.Operator, ""
	if prefix, rest, ok := strings.Cut(name, ":"); ok {
		set = strings.ToLower(prefix)
		if set != "foranyvalue" && set != "forallvalues" {
			return false
		}
		name = rest
	}
	base, ifExists := strings.CutSuffix(strings.ToLower(name), "ifexists")
	values := lookup(ctx, c.Key)
	present := len(values) > 0

	if base == "null" {
		if set != "" || ifExists {
			return false // not valid IAM
		}
		for _, v := range c.Values {
			if strings.EqualFold(v, "true") && !present || strings.EqualFold(v, "false") && present {
				return true
			}
		}
		return false
	}
	op, ok := operators[base]
	if !ok {
		return false
	}
	if !present && ifExists {
		return true
	}
	// matched reports whether a context value equals/matches some policy
	// value (values are ORed); a negated operator holds when none does (NOR).
	matched := func(v string) bool {
		for _, pv := range c.Values {
			if op.match(pv, v) {
				return true
			}
		}
		return false
	}
	switch set {
	case "forallvalues": // vacuously true when the key is absent
		for _, v := range values {
			if matched(v) == op.negated {
				return false
			}
		}
		return true
	case "foranyvalue": // false when the key is absent
		for _, v := range values {
			if matched(v) != op.negated {
				return true
			}
		}
		return false
	}
	// No set prefix: an absent key leaves nothing matched, so positive
	// operators are false and negated ones true.
	anyMatched := false
	for _, v := range values {
		anyMatched = anyMatched || matched(v)
	}
	return anyMatched != op.negated
}

// lookup finds a context key case-insensitively, as AWS does.
func lookup(ctx map[string][]string, key string) []string {
	if v, ok := ctx[key]; ok {
		return v
	}
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// arnMatch compares the six colon-separated ARN parts one by one, so a
// wildcard never spans a ':' boundary (the resource part, the sixth, may
// itself contain colons). Matching is case-sensitive.
func arnMatch(pattern, arn string) bool {
	pp, ap := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(pp) != 6 || len(ap) != 6 {
		return false
	}
	for i := range pp {
		if !wildcardMatch(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

func ipMatch(pol, ctx string) bool {
	addr, err := netip.ParseAddr(ctx)
	if err != nil {
		return false
	}
	prefix, err := netip.ParsePrefix(pol)
	if err != nil {
		a, err := netip.ParseAddr(pol) // a bare address means a /32 (or /128)
		if err != nil {
			return false
		}
		prefix = netip.PrefixFrom(a, a.BitLen())
	}
	return prefix.Contains(addr.Unmap())
}

// ordered builds a comparison matcher: ok receives compare(context, policy),
// so NumericLessThan {"k": "10"} holds for a context value below 10.
// Unparsable values never match.
func ordered[T any](parse func(string) (T, error), compare func(a, b T) int, ok func(int) bool) func(pol, ctx string) bool {
	return func(pol, ctx string) bool {
		p, err1 := parse(pol)
		c, err2 := parse(ctx)
		return err1 == nil && err2 == nil && ok(compare(c, p))
	}
}

func parseNumber(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

// parseDate accepts the forms IAM documents for date conditions: ISO 8601
// (full timestamp or date only) and epoch seconds.
func parseDate(s string) (time.Time, error) {
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

func equal(c int) bool     { return c == 0 }
func less(c int) bool      { return c < 0 }
func lessEq(c int) bool    { return c <= 0 }
func greater(c int) bool   { return c > 0 }
func greaterEq(c int) bool { return c >= 0 }
