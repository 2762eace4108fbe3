package terraform

import (
	"encoding/json"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
)

func TestBackendFiles(t *testing.T) {
	s3 := Backend{Kind: "s3", Bucket: "state", Key: "knowme/terraform.tfstate", Region: "eu-west-1",
		Endpoint: "http://127.0.0.1:4566", STSEndpoint: "http://127.0.0.1:4566"}
	got := string(s3.configFile())
	for _, want := range []string{`bucket = "state"`, `key = "knowme/terraform.tfstate"`, `region = "eu-west-1"`,
		"use_lockfile = true", `s3 = "http://127.0.0.1:4566"`, "use_path_style = true", "skip_credentials_validation = true",
		"skip_requesting_account_id = true"} {
		if !strings.Contains(strings.Join(strings.Fields(got), " "), want) {
			t.Errorf("s3 backend config lacks %q:\n%s", want, got)
		}
	}
	aws := Backend{Kind: "s3", Bucket: "state", Key: "k", Region: "eu-west-1"}
	if got := string(aws.configFile()); strings.Contains(got, "skip_") || strings.Contains(got, "endpoints") || !strings.Contains(got, "use_lockfile") {
		t.Errorf("real AWS backend config:\n%s", got)
	}
	if got := string(s3.overrideFile()); !strings.Contains(got, `backend "s3" {`) {
		t.Errorf("override:\n%s", got)
	}
	local := Backend{Kind: "local", LocalDir: "/var/state"}
	if got := string(local.configFile()); !strings.Contains(got, `"/var/state/terraform.tfstate"`) || !strings.Contains(got, `workspace_dir`) {
		t.Errorf("local backend config:\n%s", got)
	}
	if err := (Backend{Kind: "s3"}).Validate(); err == nil || !strings.Contains(err.Error(), "KM_TF_STATE_BUCKET") {
		t.Errorf("validate: %v", err)
	}
}

func TestProcessEnvAndVarFile(t *testing.T) {
	env, vars := processEnv(map[string]string{
		"TF_VAR_db_password": "pw", "TF_VAR_zones": `["a","b"]`, "TF_LOG": "TRACE", "TF_WORKSPACE": "prod",
		"TF_CLI_ARGS": "-destroy", "AWS_REGION": "eu-west-1",
	}, "/data")
	if env["TF_DATA_DIR"] != "/data" || env["AWS_REGION"] != "eu-west-1" {
		t.Errorf("env: %v", env)
	}
	for _, k := range []string{"TF_VAR_db_password", "TF_LOG", "TF_WORKSPACE", "TF_CLI_ARGS"} {
		if _, ok := env[k]; ok {
			t.Errorf("%s must not reach terraform's environment", k)
		}
	}
	data, err := varFileJSON(vars)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["db_password"] != "pw" || len(doc["zones"].([]any)) != 2 {
		t.Errorf("var file: %s", data)
	}
}

func TestGuardRules(t *testing.T) {
	change := func(addr, typ, name string, actions tfjson.Actions, before map[string]any) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Type: typ, Name: name, Change: &tfjson.Change{Actions: actions, Before: before}}
	}
	del := tfjson.Actions{tfjson.ActionDelete}
	replace := tfjson.Actions{tfjson.ActionDelete, tfjson.ActionCreate}
	plan := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		change("aws_db_instance.main", "aws_db_instance", "main", replace, nil),
		change("aws_s3_bucket.media", "aws_s3_bucket", "media", del, nil),
		change("aws_s3_bucket.b", "aws_s3_bucket", "b", del, map[string]any{"bucket": "knowme-staging-media"}),
		change("aws_s3_bucket.web", "aws_s3_bucket", "web", del, map[string]any{"bucket": "knowme-staging-web"}),
		change("module.cache.aws_elasticache_cluster.c[0]", "aws_elasticache_cluster", "c", del, nil),
		change("aws_db_instance.other", "aws_db_instance", "other", tfjson.Actions{tfjson.ActionUpdate}, nil),
	}}
	refused, allowed := Guard{Addresses: []string{"module.cache"}, Allow: []string{"aws_s3_bucket.b"}}.Check(plan)
	var got []string
	for _, v := range refused {
		got = append(got, v.Address)
	}
	want := "aws_db_instance.main aws_s3_bucket.media module.cache.aws_elasticache_cluster.c[0]"
	if strings.Join(got, " ") != want {
		t.Errorf("refused %v, want %s", got, want)
	}
	if len(allowed) != 1 || allowed[0].Address != "aws_s3_bucket.b" {
		t.Errorf("allowed %+v", allowed)
	}
}

// Drift is what changed outside Terraform and matters to the plan: a refresh-only
// difference (a computed attribute, a rule kept in its own resource) is not drift.
func TestSummaryDriftIsOnlyRelevantDrift(t *testing.T) {
	var p tfjson.Plan
	if err := json.Unmarshal([]byte(`{
	  "format_version": "1.2",
	  "resource_drift": [
	    {"address": "aws_db_instance.main", "type": "aws_db_instance", "name": "main",
	     "change": {"actions": ["update"], "before": {"latest_restorable_time": "a"}, "after": {"latest_restorable_time": "b"}}},
	    {"address": "aws_lb_target_group.api", "type": "aws_lb_target_group", "name": "api",
	     "change": {"actions": ["update"], "before": {"health_check_path": "/status/"}, "after": {"health_check_path": "/"}}}
	  ],
	  "resource_changes": [
	    {"address": "aws_lb_target_group.api", "type": "aws_lb_target_group", "name": "api",
	     "change": {"actions": ["update"], "before": {"health_check_path": "/"}, "after": {"health_check_path": "/status/"}}}
	  ],
	  "relevant_attributes": [{"resource": "aws_lb_target_group.api", "attribute": ["health_check_path"]}]
	}`), &p); err != nil {
		t.Fatal(err)
	}
	s := Summarize(&p)
	if len(s.Drift) != 1 || s.Drift[0].Address != "aws_lb_target_group.api" {
		t.Errorf("drift = %+v, want only aws_lb_target_group.api", s.Drift)
	}

	p.ResourceChanges, p.RelevantAttributes = nil, nil
	if s := Summarize(&p); len(s.Drift) != 0 || !s.Empty() {
		t.Errorf("refresh-only differences reported as drift: %+v", s.Drift)
	}
}
