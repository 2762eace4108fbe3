package iampolicy

import "testing"

func TestEvalCondition(t *testing.T) {
	type ctx = map[string][]string
	one := func(k, v string) ctx { return ctx{k: {v}} }
	const k = "svc:key"
	tests := []struct {
		name   string
		op     string
		values []string
		ctx    ctx
		want   bool
	}{
		// String operators.
		{"StringEquals match", "StringEquals", []string{"a", "b"}, one(k, "b"), true},
		{"StringEquals is case-sensitive", "StringEquals", []string{"abc"}, one(k, "ABC"), false},
		{"StringEquals has no wildcards", "StringEquals", []string{"a*"}, one(k, "abc"), false},
		{"StringEquals absent key", "StringEquals", []string{"a"}, nil, false},
		{"StringNotEquals differs", "StringNotEquals", []string{"a"}, one(k, "b"), true},
		{"StringNotEquals equal", "StringNotEquals", []string{"a"}, one(k, "a"), false},
		{"StringNotEquals is NOR over values", "StringNotEquals", []string{"a", "b"}, one(k, "b"), false},
		{"StringNotEquals absent key is true", "StringNotEquals", []string{"a"}, nil, true},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", []string{"abc"}, one(k, "ABC"), true},
		{"StringNotEqualsIgnoreCase equal", "StringNotEqualsIgnoreCase", []string{"abc"}, one(k, "ABC"), false},
		{"StringNotEqualsIgnoreCase differs", "StringNotEqualsIgnoreCase", []string{"abc"}, one(k, "abd"), true},
		{"StringLike star", "StringLike", []string{"repo:org/*:ref:refs/heads/*"}, one(k, "repo:org/app:ref:refs/heads/main"), true},
		{"StringLike question mark", "StringLike", []string{"v?"}, one(k, "v1"), true},
		{"StringLike question mark one char only", "StringLike", []string{"v?"}, one(k, "v12"), false},
		{"StringLike is case-sensitive", "StringLike", []string{"Main*"}, one(k, "main"), false},
		{"StringLike empty value", "StringLike", []string{""}, one(k, ""), true},
		{"StringNotLike match", "StringNotLike", []string{"prod-*"}, one(k, "prod-db"), false},
		{"StringNotLike no match", "StringNotLike", []string{"prod-*"}, one(k, "dev-db"), true},
		{"StringNotLike absent key is true", "StringNotLike", []string{"prod-*"}, nil, true},

		// ARN operators.
		{"ArnEquals exact", "ArnEquals", []string{cluster}, one(k, cluster), true},
		{"ArnEquals allows wildcards like ArnLike", "ArnEquals", []string{"arn:aws:ecs:*:123456789012:cluster/*"}, one(k, cluster), true},
		{"ArnLike region wildcard", "ArnLike", []string{"arn:aws:ecs:*:123456789012:cluster/app"}, one(k, cluster), true},
		{"ArnLike account-wide pattern", "ArnLike", []string{"arn:aws:ecs:us-east-1:123456789012:*"}, one(k, "arn:aws:ecs:us-east-1:123456789012:task-definition/app:3"), true},
		{"ArnLike wildcard does not span segments", "ArnLike", []string{"arn:aws:*"}, one(k, cluster), false},
		{"ArnLike is case-sensitive", "ArnLike", []string{"arn:aws:ecs:us-east-1:123456789012:cluster/App"}, one(k, cluster), false},
		{"ArnLike resource part keeps its colons", "ArnLike", []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/app:*"}, one(k, "arn:aws:ecs:us-east-1:123456789012:task-definition/app:12"), true},
		{"ArnLike not an ARN", "ArnLike", []string{"arn:aws:ecs:*:*:*"}, one(k, "cluster/app"), false},
		{"ArnLike absent key", "ArnLike", []string{"arn:*:*:*:*:*"}, nil, false},
		{"ArnNotEquals other", "ArnNotEquals", []string{cluster}, one(k, "arn:aws:ecs:us-east-1:123456789012:cluster/x"), true},
		{"ArnNotLike match", "ArnNotLike", []string{"arn:aws:ecs:*:*:cluster/*"}, one(k, cluster), false},
		{"ArnNotLike absent key is true", "ArnNotLike", []string{"arn:aws:ecs:*:*:cluster/*"}, nil, true},

		// Bool and Null.
		{"Bool true", "Bool", []string{"true"}, one(k, "true"), true},
		{"Bool mismatch", "Bool", []string{"true"}, one(k, "false"), false},
		{"Bool case-insensitive value", "Bool", []string{"true"}, one(k, "True"), true},
		{"Bool absent key", "Bool", []string{"false"}, nil, false},
		{"Null true, key absent", "Null", []string{"true"}, nil, true},
		{"Null true, key present", "Null", []string{"true"}, one(k, "x"), false},
		{"Null false, key present", "Null", []string{"false"}, one(k, "x"), true},
		{"Null false, key absent", "Null", []string{"false"}, nil, false},
		{"Null empty value list counts as absent", "Null", []string{"true"}, ctx{k: {}}, true},

		// Numeric operators (context compared against policy).
		{"NumericEquals", "NumericEquals", []string{"10"}, one(k, "10.0"), true},
		{"NumericEquals differs", "NumericEquals", []string{"10"}, one(k, "11"), false},
		{"NumericNotEquals", "NumericNotEquals", []string{"10"}, one(k, "11"), true},
		{"NumericNotEquals absent key is true", "NumericNotEquals", []string{"10"}, nil, true},
		{"NumericLessThan", "NumericLessThan", []string{"10"}, one(k, "9"), true},
		{"NumericLessThan equal", "NumericLessThan", []string{"10"}, one(k, "10"), false},
		{"NumericLessThanEquals", "NumericLessThanEquals", []string{"10"}, one(k, "10"), true},
		{"NumericGreaterThan", "NumericGreaterThan", []string{"10"}, one(k, "10.5"), true},
		{"NumericGreaterThan less", "NumericGreaterThan", []string{"10"}, one(k, "3"), false},
		{"NumericGreaterThanEquals", "NumericGreaterThanEquals", []string{"10"}, one(k, "10"), true},
		{"Numeric unparsable never matches", "NumericEquals", []string{"ten"}, one(k, "ten"), false},

		// Date operators.
		{"DateEquals ISO and epoch", "DateEquals", []string{"2024-01-01T00:00:00Z"}, one(k, "1704067200"), true},
		{"DateLessThan", "DateLessThan", []string{"2024-06-01T00:00:00Z"}, one(k, "2024-05-31T23:59:59+00:00"), true},
		{"DateLessThanEquals date only", "DateLessThanEquals", []string{"2024-06-01"}, one(k, "2024-06-01T00:00:00Z"), true},
		{"DateGreaterThan", "DateGreaterThan", []string{"2024-06-01T00:00:00Z"}, one(k, "2024-05-31T23:59:59Z"), false},
		{"DateGreaterThanEquals", "DateGreaterThanEquals", []string{"2024-06-01T00:00:00Z"}, one(k, "2024-06-01T02:00:00+02:00"), true},
		{"DateNotEquals", "DateNotEquals", []string{"2024-06-01T00:00:00Z"}, one(k, "2024-06-02T00:00:00Z"), true},
		{"Date unparsable never matches", "DateEquals", []string{"yesterday"}, one(k, "yesterday"), false},

		// IP address operators.
		{"IpAddress in CIDR", "IpAddress", []string{"203.0.113.0/24"}, one(k, "203.0.113.7"), true},
		{"IpAddress outside CIDR", "IpAddress", []string{"203.0.113.0/24"}, one(k, "198.51.100.7"), false},
		{"IpAddress bare address", "IpAddress", []string{"203.0.113.7"}, one(k, "203.0.113.7"), true},
		{"IpAddress IPv6", "IpAddress", []string{"2001:db8::/32"}, one(k, "2001:db8::1"), true},
		{"IpAddress context not an address", "IpAddress", []string{"0.0.0.0/0"}, one(k, "localhost"), false},
		{"IpAddress policy not an address", "IpAddress", []string{"intranet"}, one(k, "10.0.0.1"), false},
		{"NotIpAddress outside", "NotIpAddress", []string{"10.0.0.0/8"}, one(k, "192.0.2.1"), true},
		{"NotIpAddress inside", "NotIpAddress", []string{"10.0.0.0/8"}, one(k, "10.1.2.3"), false},

		// IfExists.
		{"IfExists absent key", "StringEqualsIfExists", []string{"a"}, nil, true},
		{"IfExists present match", "StringEqualsIfExists", []string{"a"}, one(k, "a"), true},
		{"IfExists present mismatch", "StringEqualsIfExists", []string{"a"}, one(k, "b"), false},
		{"BoolIfExists absent", "BoolIfExists", []string{"true"}, nil, true},
		{"BoolIfExists present false", "BoolIfExists", []string{"true"}, one(k, "false"), false},
		{"ArnLikeIfExists present", "ArnLikeIfExists", []string{"arn:aws:ecs:*:*:*"}, one(k, cluster), true},
		{"NotIfExists present match", "StringNotEqualsIfExists", []string{"a"}, one(k, "a"), false},
		{"NullIfExists is not an operator", "NullIfExists", []string{"true"}, nil, false},

		// Set operators.
		{"ForAnyValue one matches", "ForAnyValue:StringEquals", []string{"x", "y"}, ctx{k: {"a", "y"}}, true},
		{"ForAnyValue none matches", "ForAnyValue:StringEquals", []string{"x", "y"}, ctx{k: {"a", "b"}}, false},
		{"ForAnyValue absent key is false", "ForAnyValue:StringEquals", []string{"x"}, nil, false},
		{"ForAnyValue IfExists absent key is true", "ForAnyValue:StringEqualsIfExists", []string{"x"}, nil, true},
		{"ForAnyValue negated: some value outside", "ForAnyValue:StringNotEquals", []string{"x", "y"}, ctx{k: {"x", "z"}}, true},
		{"ForAnyValue negated: all values listed", "ForAnyValue:StringNotEquals", []string{"x", "y"}, ctx{k: {"x", "y"}}, false},
		{"ForAllValues all match", "ForAllValues:StringLike", []string{"team", "env-*"}, ctx{k: {"team", "env-prod"}}, true},
		{"ForAllValues one does not", "ForAllValues:StringLike", []string{"team", "env-*"}, ctx{k: {"team", "owner"}}, false},
		{"ForAllValues absent key is true", "ForAllValues:StringEquals", []string{"team"}, nil, true},
		{"ForAllValues negated: none listed", "ForAllValues:StringNotEquals", []string{"x"}, ctx{k: {"a", "b"}}, true},
		{"ForAllValues negated: one listed", "ForAllValues:StringNotEquals", []string{"x"}, ctx{k: {"a", "x"}}, false},
		{"set prefix case-insensitive", "forallvalues:stringequals", []string{"a"}, ctx{k: {"a"}}, true},

		// Several context values without a set prefix.
		{"multi-valued, positive, one matches", "StringEquals", []string{"a"}, ctx{k: {"b", "a"}}, true},
		{"multi-valued, negated, one matches", "StringNotEquals", []string{"a"}, ctx{k: {"b", "a"}}, false},
		{"multi-valued, negated, none matches", "StringNotEquals", []string{"a"}, ctx{k: {"b", "c"}}, true},

		// Keys, names, unknowns, variables.
		{"key case-insensitive", "StringEquals", []string{"a"}, one("SVC:Key", "a"), true},
		{"operator name case-insensitive", "stringequals", []string{"a"}, one(k, "a"), true},
		{"unknown operator is false", "StringEqualz", []string{"a"}, one(k, "a"), false},
		{"unknown negated-looking operator is false", "StringNotEqualz", []string{"a"}, nil, false},
		{"unsupported BinaryEquals is false", "BinaryEquals", []string{"YQ=="}, one(k, "YQ=="), false},
		{"unknown set prefix is false", "ForSomeValues:StringEquals", []string{"a"}, one(k, "a"), false},
		{"Null with set prefix is false", "ForAnyValue:Null", []string{"true"}, nil, false},
		{"policy variable taken literally", "StringEquals", []string{"${aws:username}"}, ctx{k: {"bob"}, "aws:username": {"bob"}}, false},
		{"policy variable literal text matches", "StringEquals", []string{"${aws:username}"}, one(k, "${aws:username}"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Condition{Operator: tt.op, Key: k, Values: tt.values}
			if got := evalCondition(c, tt.ctx); got != tt.want {
				t.Errorf("%s %s %q with context %v = %v, want %v", tt.op, k, tt.values, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "arn:aws:s3:::b/k", true},
		{"", "", true},
		{"", "a", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"*/logs/*", "b/2024/logs/x", true},
		{"arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:role/a/b", true},
		{"??", "ab", true},
		{"??", "a", false},
		{"?", "é", true}, // one character, not one byte
		{"a**", "a", true},
		{"*a", "bbbba", true},
		{"*a", "bbbbab", false},
		{"literal*star", "literal*star", true},
		{"x*", "*", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
