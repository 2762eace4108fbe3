package iampolicy

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse(doc)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func TestParse(t *testing.T) {
	// The form IAM's GetRolePolicy returns: RFC 3986 percent-encoding.
	encoded := strings.ReplaceAll(url.QueryEscape(
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/a+b c"}}`),
		"+", "%20")

	tests := []struct {
		name string
		doc  string
		want []Statement
	}{
		{
			name: "single statement object, strings become lists",
			doc:  `{"Version":"2012-10-17","Statement":{"Sid":"S1","Effect":"Allow","Action":"ecs:RunTask","Resource":"*"}}`,
			want: []Statement{{Sid: "S1", Effect: "Allow", Actions: []string{"ecs:RunTask"}, Resources: []string{"*"}}},
		},
		{
			name: "statement list, NotAction and NotResource, old version",
			doc: `{"Version":"2008-10-17","Statement":[
				{"Effect":"Deny","NotAction":["iam:*","sts:*"],"NotResource":"arn:aws:s3:::x"},
				{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::x/*"]}]}`,
			want: []Statement{
				{Effect: "Deny", NotActions: []string{"iam:*", "sts:*"}, NotResources: []string{"arn:aws:s3:::x"}},
				{Effect: "Allow", Actions: []string{"s3:GetObject", "s3:PutObject"}, Resources: []string{"arn:aws:s3:::x/*"}},
			},
		},
		{
			name: "no Version, Id allowed",
			doc:  `{"Id":"x","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			want: []Statement{{Effect: "Allow", Actions: []string{"*"}, Resources: []string{"*"}}},
		},
		{
			name: "principal star normalised to AWS",
			doc:  `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`,
			want: []Statement{{Effect: "Allow", Principal: map[string][]string{"AWS": {"*"}}, Actions: []string{"sts:AssumeRole"}}},
		},
		{
			name: "principal object and NotPrincipal",
			doc: `{"Statement":[
				{"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com","lambda.amazonaws.com"],"AWS":"123456789012"},"Action":"sts:AssumeRole"},
				{"Effect":"Deny","NotPrincipal":{"Federated":"arn:aws:iam::1:oidc-provider/x"},"Action":"sts:*"}]}`,
			want: []Statement{
				{Effect: "Allow", Principal: map[string][]string{"Service": {"ecs-tasks.amazonaws.com", "lambda.amazonaws.com"}, "AWS": {"123456789012"}}, Actions: []string{"sts:AssumeRole"}},
				{Effect: "Deny", NotPrincipal: map[string][]string{"Federated": {"arn:aws:iam::1:oidc-provider/x"}}, Actions: []string{"sts:*"}},
			},
		},
		{
			name: "conditions flattened in sorted order, numbers and booleans as JSON text",
			doc: `{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{
				"StringLike":{"s3:prefix":["home/*",""]},
				"Bool":{"aws:SecureTransport":true},
				"NumericLessThanEquals":{"s3:max-keys":10, "a:b":"1.50"}}}}`,
			want: []Statement{{Effect: "Allow", Actions: []string{"s3:ListBucket"}, Resources: []string{"*"}, Conditions: []Condition{
				{Operator: "Bool", Key: "aws:SecureTransport", Values: []string{"true"}},
				{Operator: "NumericLessThanEquals", Key: "a:b", Values: []string{"1.50"}},
				{Operator: "NumericLessThanEquals", Key: "s3:max-keys", Values: []string{"10"}},
				{Operator: "StringLike", Key: "s3:prefix", Values: []string{"home/*", ""}},
			}}},
		},
		{
			name: "URL-encoded as returned by IAM",
			doc:  encoded,
			want: []Statement{{Effect: "Allow", Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::b/a+b c"}}},
		},
		{
			name: "surrounding whitespace",
			doc:  "\n  {\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\"}}  \n",
			want: []Statement{{Effect: "Deny", Actions: []string{"*"}, Resources: []string{"*"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.doc)
			if !reflect.DeepEqual(p.Statements, tt.want) {
				t.Errorf("got  %+v\nwant %+v", p.Statements, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{"empty", ``, "not a JSON object"},
		{"not JSON", `Version: 2012-10-17`, "not a JSON object"},
		{"top-level array", `[{"Effect":"Allow"}]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, "trailing data"},
		{"bad URL encoding", `%7B%zz`, "URL-encoded"},
		{"unknown top element", `{"Statements":[]}`, `unknown policy element "Statements"`},
		{"bad version", `{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, "Version must be"},
		{"missing Statement", `{"Version":"2012-10-17"}`, "missing Statement"},
		{"empty Statement", `{"Statement":[]}`, "Statement is empty"},
		{"statement not object", `{"Statement":["x"]}`, "statement 0: not a JSON object"},
		{"missing Effect", `{"Statement":{"Action":"*","Resource":"*"}}`, "missing Effect"},
		{"lower-case Effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, `Effect must be "Allow" or "Deny"`},
		{"Effect not string", `{"Statement":{"Effect":true,"Action":"*","Resource":"*"}}`, "Effect:"},
		{"both Action and NotAction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"iam:*","Resource":"*"}}`, "both Action and NotAction"},
		{"neither Action nor NotAction", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "missing Action or NotAction"},
		{"empty Action list", `{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "empty Action"},
		{"action without service", `{"Statement":{"Effect":"Allow","Action":"RunTask","Resource":"*"}}`, "not \"service:Operation\""},
		{"Action not strings", `{"Statement":{"Effect":"Allow","Action":[1],"Resource":"*"}}`, "Action: want a string or a list"},
		{"both Resource and NotResource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"x"}}`, "both Resource and NotResource"},
		{"both Principal and NotPrincipal", `{"Statement":{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":"*"}}`, "both Principal and NotPrincipal"},
		{"element name case matters", `{"Statement":{"Effect":"Allow","action":"*","Resource":"*"}}`, `action: unknown element`},
		{"plural typo", `{"Statement":{"Effect":"Allow","Actions":"*","Resource":"*"}}`, `Actions: unknown element`},
		{"principal string not star", `{"Statement":{"Effect":"Allow","Action":"*","Principal":"lambda.amazonaws.com"}}`, `must be "*"`},
		{"unknown principal type", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{"User":"x"}}}`, `unknown principal type "User"`},
		{"principal id not a string", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{"AWS":[123456789012]}}}`, "AWS: want a string or a list"},
		{"empty principal object", `{"Statement":{"Effect":"Allow","Action":"*","Principal":{}}}`, "non-empty object"},
		{"condition not object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":"x"}}`, "Condition:"},
		{"condition operator without keys", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{}}}}`, "no condition keys"},
		{"condition value null", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"k":null}}}}`, "not a string, number or boolean"},
		{"condition value object", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":{"a":1}}}}}`, "not a string, number or boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.doc)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", p)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "iampolicy: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{ImplicitDeny: "ImplicitDeny", Allow: "Allow", ExplicitDeny: "ExplicitDeny", 7: "Decision(7)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}
