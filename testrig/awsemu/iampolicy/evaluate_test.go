package iampolicy

import "testing"

const (
	acct    = "123456789012"
	cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/app"
)

func TestEvaluate(t *testing.T) {
	// Reused documents.
	const (
		runTaskOnCluster = `{"Version":"2012-10-17","Statement":[{"Sid":"Run","Effect":"Allow","Action":"ecs:RunTask","Resource":"*",
			"Condition":{"ArnEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/app"}}}]}`
		passRoleToECS = `{"Version":"2012-10-17","Statement":[{"Sid":"Pass","Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/task-*",
			"Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}]}`
		allowS3      = `{"Statement":{"Sid":"S3","Effect":"Allow","Action":"s3:*","Resource":"*"}}`
		denyInsecure = `{"Statement":{"Sid":"TLS","Effect":"Deny","Action":"*","Resource":"*",
			"Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`
	)
	tests := []struct {
		name     string
		policies []string
		req      Request
		want     Decision
		wantSid  string
	}{
		// Actions.
		{"exact action and resource", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/k"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::b/k"}}, Allow, "A"},
		{"action case-insensitive (service and operation)", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"ECS:runtask","Resource":"*"}}`},
			Request{Action: "ecs:RunTask"}, Allow, "A"},
		{"action wildcard prefix", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}}`},
			Request{Action: "ecs:DescribeServices"}, Allow, "A"},
		{"action wildcard does not match other operation", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}}`},
			Request{Action: "ecs:DeleteService"}, ImplicitDeny, ""},
		{"action question mark", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"s3:?etObject","Resource":"*"}}`},
			Request{Action: "s3:GetObject"}, Allow, "A"},
		{"action question mark is one character", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"s3:?etObject","Resource":"*"}}`},
			Request{Action: "s3:PutObject"}, ImplicitDeny, ""},
		{"action star matches everything", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}}`},
			Request{Action: "iam:CreateUser", Resources: []string{"arn:aws:iam::1:user/x"}}, Allow, "A"},
		{"other service not matched", []string{allowS3}, Request{Action: "s3control:GetJob"}, ImplicitDeny, ""},

		// Deny beats Allow, within and across policies.
		{"deny in another policy wins", []string{allowS3, `{"Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}}`},
			Request{Action: "s3:DeleteObject", Resources: []string{"arn:aws:s3:::b/k"}}, ExplicitDeny, "NoDelete"},
		{"deny in same policy wins, listed after allow", []string{`{"Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`},
			Request{Action: "iam:PassRole"}, ExplicitDeny, "D"},
		{"deny not matching leaves allow", []string{allowS3, `{"Statement":{"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}}`},
			Request{Action: "s3:GetObject"}, Allow, "S3"},
		{"no policies", nil, Request{Action: "s3:GetObject"}, ImplicitDeny, ""},

		// NotAction.
		{"NotAction with Allow allows other actions", []string{`{"Statement":{"Sid":"NotIAM","Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			Request{Action: "ecs:RunTask"}, Allow, "NotIAM"},
		{"NotAction with Allow does not allow listed actions", []string{`{"Statement":{"Sid":"NotIAM","Effect":"Allow","NotAction":["iam:*","sts:*"],"Resource":"*"}}`},
			Request{Action: "IAM:CreateUser"}, ImplicitDeny, ""},
		{"NotAction with Deny denies everything else", []string{allowS3, `{"Statement":{"Sid":"OnlyGet","Effect":"Deny","NotAction":"s3:Get*","Resource":"*"}}`},
			Request{Action: "s3:PutObject"}, ExplicitDeny, "OnlyGet"},
		{"NotAction with Deny spares listed actions", []string{allowS3, `{"Statement":{"Sid":"OnlyGet","Effect":"Deny","NotAction":"s3:Get*","Resource":"*"}}`},
			Request{Action: "s3:GetObject"}, Allow, "S3"},

		// Resources.
		{"resource case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::Bucket/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::bucket/k"}}, ImplicitDeny, ""},
		{"wildcard in the middle of an ARN", []string{`{"Statement":{"Sid":"Logs","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*/logs/*.gz"}}`},
			Request{Action: "s3:PutObject", Resources: []string{"arn:aws:s3:::b/2024/01/logs/app.gz"}}, Allow, "Logs"},
		{"wildcard in the middle of an ARN, no match", []string{`{"Statement":{"Sid":"Logs","Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*/logs/*.gz"}}`},
			Request{Action: "s3:PutObject", Resources: []string{"arn:aws:s3:::b/2024/logs/app.txt"}}, ImplicitDeny, ""},
		{"resource star crosses colons and slashes", []string{`{"Statement":{"Sid":"ECS","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:*"}}`},
			Request{Action: "ecs:UpdateService", Resources: []string{"arn:aws:ecs:us-east-1:123456789012:service/app/web"}}, Allow, "ECS"},
		{"resource question mark", []string{`{"Statement":{"Sid":"TD","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:us-east-1:123456789012:task-definition/app:?"}}`},
			Request{Action: "ecs:RunTask", Resources: []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/app:7"}}, Allow, "TD"},
		{"resource question mark is exactly one character", []string{`{"Statement":{"Sid":"TD","Effect":"Allow","Action":"ecs:*","Resource":"arn:aws:ecs:us-east-1:123456789012:task-definition/app:?"}}`},
			Request{Action: "ecs:RunTask", Resources: []string{"arn:aws:ecs:us-east-1:123456789012:task-definition/app:17"}}, ImplicitDeny, ""},
		{"no resource in request needs Resource star", []string{`{"Statement":{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"arn:aws:s3:::*"}}`},
			Request{Action: "s3:ListAllMyBuckets"}, ImplicitDeny, ""},
		{"NotResource with Allow allows other resources", []string{`{"Statement":{"Sid":"NR","Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::public/k"}}, Allow, "NR"},
		{"NotResource with Allow excludes listed resources", []string{`{"Statement":{"Sid":"NR","Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::secret","arn:aws:s3:::secret/*"]}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::secret/k"}}, ImplicitDeny, ""},
		{"NotResource with Deny denies everything outside", []string{allowS3, `{"Statement":{"Sid":"OnlyMine","Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::mine/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::theirs/k"}}, ExplicitDeny, "OnlyMine"},
		{"NotResource with Deny spares listed resources", []string{allowS3, `{"Statement":{"Sid":"OnlyMine","Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::mine/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::mine/k"}}, Allow, "S3"},
		{"statement without Resource grants nothing", []string{`{"Statement":{"Effect":"Allow","Action":"*"}}`},
			Request{Action: "s3:GetObject"}, ImplicitDeny, ""},
		{"statement with Principal ignored", []string{`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`},
			Request{Action: "s3:GetObject"}, ImplicitDeny, ""},

		// Multiple resources.
		{"multi-resource all allowed", []string{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"},{"Sid":"B","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::a/1", "arn:aws:s3:::b/2"}}, Allow, "A"},
		{"multi-resource one not allowed", []string{`{"Statement":{"Sid":"A","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::a/1", "arn:aws:s3:::b/2"}}, ImplicitDeny, ""},
		{"multi-resource explicit deny after implicit deny", []string{`{"Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a/*"},{"Sid":"DC","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::c/*"}]}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::b/1", "arn:aws:s3:::c/2"}}, ExplicitDeny, "DC"},

		// Conditions in context.
		{"ArnEquals on ecs:cluster matches", []string{runTaskOnCluster},
			Request{Action: "ecs:RunTask", Context: map[string][]string{"ecs:cluster": {cluster}}}, Allow, "Run"},
		{"ArnEquals on ecs:cluster other cluster", []string{runTaskOnCluster},
			Request{Action: "ecs:RunTask", Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/other"}}}, ImplicitDeny, ""},
		{"ArnEquals on ecs:cluster key absent", []string{runTaskOnCluster},
			Request{Action: "ecs:RunTask"}, ImplicitDeny, ""},
		{"context key case-insensitive", []string{runTaskOnCluster},
			Request{Action: "ecs:RunTask", Context: map[string][]string{"ECS:Cluster": {cluster}}}, Allow, "Run"},
		{"ArnLike on account-wide ECS pattern", []string{`{"Statement":{"Sid":"Acct","Effect":"Allow","Action":"ecs:RunTask","Resource":"*","Condition":{"ArnLike":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:*"}}}}`},
			Request{Action: "ecs:RunTask", Context: map[string][]string{"ecs:cluster": {cluster}}}, Allow, "Acct"},
		{"ArnLike on account-wide ECS pattern, other account", []string{`{"Statement":{"Sid":"Acct","Effect":"Allow","Action":"ecs:RunTask","Resource":"*","Condition":{"ArnLike":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:*"}}}}`},
			Request{Action: "ecs:RunTask", Context: map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:210987654321:cluster/app"}}}, ImplicitDeny, ""},
		{"StringEquals iam:PassedToService matches", []string{passRoleToECS},
			Request{Action: "iam:PassRole", Resources: []string{"arn:aws:iam::123456789012:role/task-web"}, Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}}, Allow, "Pass"},
		{"StringEquals iam:PassedToService other service", []string{passRoleToECS},
			Request{Action: "iam:PassRole", Resources: []string{"arn:aws:iam::123456789012:role/task-web"}, Context: map[string][]string{"iam:PassedToService": {"lambda.amazonaws.com"}}}, ImplicitDeny, ""},
		{"StringEquals iam:PassedToService wrong role", []string{passRoleToECS},
			Request{Action: "iam:PassRole", Resources: []string{"arn:aws:iam::123456789012:role/admin"}, Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}}}, ImplicitDeny, ""},
		{"Bool aws:SecureTransport false denied", []string{allowS3, denyInsecure},
			Request{Action: "s3:GetObject", Context: map[string][]string{"aws:SecureTransport": {"false"}}}, ExplicitDeny, "TLS"},
		{"Bool aws:SecureTransport true allowed", []string{allowS3, denyInsecure},
			Request{Action: "s3:GetObject", Context: map[string][]string{"aws:SecureTransport": {"true"}}}, Allow, "S3"},
		{"Bool deny does not apply when key absent", []string{allowS3, denyInsecure},
			Request{Action: "s3:GetObject"}, Allow, "S3"},
		{"IfExists allows when key absent", []string{`{"Statement":{"Sid":"IE","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}}}`},
			Request{Action: "ec2:RunInstances"}, Allow, "IE"},
		{"IfExists still checks a present key", []string{`{"Statement":{"Sid":"IE","Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEqualsIfExists":{"ec2:InstanceType":"t3.micro"}}}}`},
			Request{Action: "ec2:RunInstances", Context: map[string][]string{"ec2:InstanceType": {"m5.24xlarge"}}}, ImplicitDeny, ""},
		{"ForAnyValue on multi-valued key", []string{`{"Statement":{"Sid":"Tags","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"aws:*"}}}}`, allowS3},
			Request{Action: "s3:PutObjectTagging", Context: map[string][]string{"aws:TagKeys": {"team", "aws:owner"}}}, ExplicitDeny, "Tags"},
		{"ForAnyValue no value matches", []string{`{"Statement":{"Sid":"Tags","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"aws:*"}}}}`, allowS3},
			Request{Action: "s3:PutObjectTagging", Context: map[string][]string{"aws:TagKeys": {"team", "env"}}}, Allow, "S3"},
		{"conditions across keys are ANDed", []string{`{"Statement":{"Sid":"Both","Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com","aws:RequestedRegion":"us-east-1"}}}}`},
			Request{Action: "iam:PassRole", Context: map[string][]string{"iam:PassedToService": {"ecs-tasks.amazonaws.com"}, "aws:RequestedRegion": {"eu-west-1"}}}, ImplicitDeny, ""},
		{"unknown operator: Deny does not apply either", []string{allowS3, `{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEqualz":{"aws:username":"bob"}}}}`},
			Request{Action: "s3:GetObject", Context: map[string][]string{"aws:username": {"bob"}}}, Allow, "S3"},
		{"policy variables compared literally", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}`},
			Request{Action: "s3:GetObject", Resources: []string{"arn:aws:s3:::home/bob/k"}, Context: map[string][]string{"aws:username": {"bob"}}}, ImplicitDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, doc := range tt.policies {
				ps = append(ps, mustParse(t, doc))
			}
			got, st := Evaluate(ps, tt.req)
			if got != tt.want {
				t.Fatalf("Evaluate = %v, want %v", got, tt.want)
			}
			switch {
			case tt.want == ImplicitDeny && st != nil:
				t.Errorf("ImplicitDeny with statement %+v", st)
			case tt.want != ImplicitDeny && (st == nil || st.Sid != tt.wantSid):
				t.Errorf("deciding statement %+v, want Sid %q", st, tt.wantSid)
			}
		})
	}
}

func TestEvaluateReturnsPointerIntoPolicy(t *testing.T) {
	p := mustParse(t, `{"Statement":[{"Sid":"x","Effect":"Allow","Action":"*","Resource":"*"}]}`)
	if _, st := Evaluate([]*Policy{nil, p}, Request{Action: "s3:GetObject"}); st != &p.Statements[0] {
		t.Errorf("statement %p, want %p", st, &p.Statements[0])
	}
}

func TestAllowsAssume(t *testing.T) {
	const (
		lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
		ecsTrust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Action":"sts:AssumeRole",
			"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:123456789012:*"},"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`
		githubTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
			"Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
			"Action":"sts:AssumeRoleWithWebIdentity",
			"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
				"StringLike":{"token.actions.githubusercontent.com:sub":"repo:knowmetools/km-release:ref:refs/heads/main"}}}]}`
		rootTrust   = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`
		bareAccount = `{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012"]},"Action":"sts:AssumeRole"}}`
		roleTrust   = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/deployer"},"Action":["sts:AssumeRole","sts:TagSession"]}}`
		anyone      = `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`
		anyoneAWS   = `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}}`
		denyOne     = `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"},
			{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/mallory"},"Action":"sts:*"}]}`
		notPrincipal = `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},
			{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:role/deployer"},"Action":"sts:AssumeRole"}]}`
		noPrincipal = `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}`
	)
	svc := func(id string) Principal { return Principal{Type: "Service", ID: id} }
	aws := func(id string) Principal { return Principal{Type: "AWS", ID: id} }
	gh := Principal{Type: "Federated", ID: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}
	ghCtx := func(aud, sub string) map[string][]string {
		return map[string][]string{"token.actions.githubusercontent.com:aud": {aud}, "token.actions.githubusercontent.com:sub": {sub}}
	}
	const mainSub = "repo:knowmetools/km-release:ref:refs/heads/main"
	tests := []struct {
		name   string
		doc    string
		who    Principal
		action string
		ctx    map[string][]string
		want   bool
	}{
		{"service principal", lambdaTrust, svc("lambda.amazonaws.com"), "sts:AssumeRole", nil, true},
		{"service principal case-insensitive action", lambdaTrust, svc("lambda.amazonaws.com"), "STS:assumerole", nil, true},
		{"service principal name case-insensitive", lambdaTrust, svc("Lambda.AmazonAWS.com"), "sts:AssumeRole", nil, true},
		{"twelve characters that are not an account id", `{"Statement":{"Effect":"Allow","Principal":{"AWS":"12345678901x"},"Action":"sts:AssumeRole"}}`,
			aws("arn:aws:iam::12345678901x:role/a"), "sts:AssumeRole", nil, false},
		{"other service", lambdaTrust, svc("ecs-tasks.amazonaws.com"), "sts:AssumeRole", nil, false},
		{"service name under wrong type", lambdaTrust, aws("lambda.amazonaws.com"), "sts:AssumeRole", nil, false},
		{"other action", lambdaTrust, svc("lambda.amazonaws.com"), "sts:AssumeRoleWithWebIdentity", nil, false},
		{"service with source conditions", ecsTrust, svc("ecs-tasks.amazonaws.com"), "sts:AssumeRole",
			map[string][]string{"aws:SourceArn": {"arn:aws:ecs:us-east-1:123456789012:task/app/abc"}, "aws:SourceAccount": {acct}}, true},
		{"service with source from other account", ecsTrust, svc("ecs-tasks.amazonaws.com"), "sts:AssumeRole",
			map[string][]string{"aws:SourceArn": {"arn:aws:ecs:us-east-1:210987654321:task/app/abc"}, "aws:SourceAccount": {"210987654321"}}, false},
		{"service without source context", ecsTrust, svc("ecs-tasks.amazonaws.com"), "sts:AssumeRole", nil, false},
		{"GitHub OIDC main branch", githubTrust, gh, "sts:AssumeRoleWithWebIdentity", ghCtx("sts.amazonaws.com", mainSub), true},
		{"GitHub OIDC other branch", githubTrust, gh, "sts:AssumeRoleWithWebIdentity", ghCtx("sts.amazonaws.com", "repo:knowmetools/km-release:ref:refs/heads/dev"), false},
		{"GitHub OIDC other repo", githubTrust, gh, "sts:AssumeRoleWithWebIdentity", ghCtx("sts.amazonaws.com", "repo:evil/km-release:ref:refs/heads/main"), false},
		{"GitHub OIDC wrong audience", githubTrust, gh, "sts:AssumeRoleWithWebIdentity", ghCtx("https://github.com/knowmetools", mainSub), false},
		{"GitHub OIDC missing aud", githubTrust, gh, "sts:AssumeRoleWithWebIdentity", map[string][]string{"token.actions.githubusercontent.com:sub": {mainSub}}, false},
		{"GitHub OIDC plain AssumeRole", githubTrust, gh, "sts:AssumeRole", ghCtx("sts.amazonaws.com", mainSub), false},
		{"GitHub OIDC other provider", githubTrust, Principal{Type: "Federated", ID: "arn:aws:iam::123456789012:oidc-provider/example.com"}, "sts:AssumeRoleWithWebIdentity", ghCtx("sts.amazonaws.com", mainSub), false},
		{"account root matches role in account", rootTrust, aws("arn:aws:iam::123456789012:role/deployer"), "sts:AssumeRole", nil, true},
		{"account root matches assumed-role session", rootTrust, aws("arn:aws:sts::123456789012:assumed-role/deployer/ci"), "sts:AssumeRole", nil, true},
		{"account root matches root", rootTrust, aws("arn:aws:iam::123456789012:root"), "sts:AssumeRole", nil, true},
		{"account root rejects other account", rootTrust, aws("arn:aws:iam::210987654321:role/deployer"), "sts:AssumeRole", nil, false},
		{"account root rejects service", rootTrust, svc("lambda.amazonaws.com"), "sts:AssumeRole", nil, false},
		{"bare account id matches user", bareAccount, aws("arn:aws:iam::123456789012:user/alice"), "sts:AssumeRole", nil, true},
		{"bare account id matches bare id", bareAccount, aws(acct), "sts:AssumeRole", nil, true},
		{"bare account id rejects other account", bareAccount, aws("arn:aws:iam::123456789013:user/alice"), "sts:AssumeRole", nil, false},
		{"exact role principal", roleTrust, aws("arn:aws:iam::123456789012:role/deployer"), "sts:TagSession", nil, true},
		{"exact role principal is not account-wide", roleTrust, aws("arn:aws:iam::123456789012:role/other"), "sts:AssumeRole", nil, false},
		{"principal star matches anyone", anyone, svc("lambda.amazonaws.com"), "sts:AssumeRole", nil, true},
		{"AWS star matches anyone", anyoneAWS, aws("arn:aws:iam::999999999999:user/x"), "sts:AssumeRole", nil, true},
		{"deny wins for named principal", denyOne, aws("arn:aws:iam::123456789012:user/mallory"), "sts:AssumeRole", nil, false},
		{"deny spares others", denyOne, aws("arn:aws:iam::123456789012:user/alice"), "sts:AssumeRole", nil, true},
		{"NotPrincipal deny spares listed principal", notPrincipal, aws("arn:aws:iam::123456789012:role/deployer"), "sts:AssumeRole", nil, true},
		{"NotPrincipal deny hits everyone else", notPrincipal, aws("arn:aws:iam::123456789012:role/other"), "sts:AssumeRole", nil, false},
		{"statement without principal ignored", noPrincipal, aws("arn:aws:iam::123456789012:root"), "sts:AssumeRole", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustParse(t, tt.doc).AllowsAssume(tt.who, tt.action, tt.ctx); got != tt.want {
				t.Errorf("AllowsAssume = %v, want %v", got, tt.want)
			}
		})
	}
	var nilPolicy *Policy
	if nilPolicy.AllowsAssume(svc("lambda.amazonaws.com"), "sts:AssumeRole", nil) {
		t.Error("nil policy allows")
	}
}
