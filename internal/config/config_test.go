package config_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/config"
)

func TestLoadDefaults(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{"KM_ENV": "staging", "AWS_DEFAULT_REGION": "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != "staging" || cfg.Region != "eu-west-1" || cfg.App != "knowme" {
		t.Errorf("got env=%q region=%q app=%q", cfg.Env, cfg.Region, cfg.App)
	}
	if cfg.Terraform.Dir != "infra" || cfg.Terraform.Backend != "s3" || cfg.Terraform.StateKey != "knowme/terraform.tfstate" || cfg.Terraform.StateRegion != "eu-west-1" {
		t.Errorf("terraform defaults: %+v", cfg.Terraform)
	}
	if cfg.Timeouts.Rollout != time.Hour || cfg.Timeouts.TerraformLock != 5*time.Minute {
		t.Errorf("timeout defaults: %+v", cfg.Timeouts)
	}
	if cfg.ResourcesFrom != "auto" {
		t.Errorf("ResourcesFrom = %q", cfg.ResourcesFrom)
	}
}

// Every problem is reported at once, each naming its variable and what is expected.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	_, err := config.Load(context.Background(), config.MapEnv{
		"KM_APP":                 "Know Me",
		"KM_TF_BACKEND":          "gcs",
		"KM_ROLLOUT_TIMEOUT":     "soon",
		"KM_TASK_TIMEOUT":        "-5m",
		"KM_RESOURCES_FROM":      "magic",
		"KM_PROTECTED_RESOURCES": "aws_db_instance.main,not an address",
		"KM_SECRET_TF_VARS":      "db password",
		"KM_TF_STATE_REGION":     "mars",
	})
	var cerr *config.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("want *config.Error, got %T %v", err, err)
	}
	want := []string{"KM_ENV", "AWS_REGION", "KM_APP", "KM_TF_BACKEND", "KM_ROLLOUT_TIMEOUT", "KM_TASK_TIMEOUT",
		"KM_RESOURCES_FROM", "KM_PROTECTED_RESOURCES", "KM_SECRET_TF_VARS", "KM_TF_STATE_REGION"}
	got := cerr.Vars()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("problem for %s not reported; got %v", w, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems %v, want %d", len(got), got, len(want))
	}
	msg := err.Error()
	for _, frag := range []string{"KM_ENV: not set; expected an environment name", "AWS_REGION: not set (nor AWS_DEFAULT_REGION)",
		`KM_ROLLOUT_TIMEOUT: cannot use "soon"; expected a positive duration`, "expected s3 or local", "docs/configuration.md"} {
		if !strings.Contains(msg, frag) {
			t.Errorf("message lacks %q:\n%s", frag, msg)
		}
	}
}

func TestLoadRejectsUnsafeEnvName(t *testing.T) {
	for _, name := range []string{"Prod", "a/b", "-x", strings.Repeat("a", 40), "staging "} {
		_, err := config.Load(context.Background(), config.MapEnv{"KM_ENV": name, "AWS_REGION": "us-east-1"})
		var cerr *config.Error
		if !errors.As(err, &cerr) || !slices.Equal(cerr.Vars(), []string{"KM_ENV"}) {
			t.Errorf("KM_ENV=%q: got %v", name, err)
		}
	}
}

func TestTerraformOptionsRequireBucketForS3(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_TF_DIR": t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.TerraformOptions()
	var cerr *config.Error
	if !errors.As(err, &cerr) || !slices.Equal(cerr.Vars(), []string{"KM_TF_STATE_BUCKET"}) {
		t.Fatalf("got %v", err)
	}
}

func TestTerraformOptionsEmulatorEndpoint(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_TF_STATE_BUCKET": "state", "KM_TF_DIR": t.TempDir(),
		"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "TF_VAR_db_password": "hunter22", "TF_VAR_size": "3",
	})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.TerraformOptions()
	if err != nil {
		t.Fatal(err)
	}
	b := opts.Backend
	if b.Kind != "s3" || b.Bucket != "state" || b.Key != "knowme/terraform.tfstate" || b.Endpoint != "http://127.0.0.1:4566" || b.STSEndpoint == "" {
		t.Errorf("backend: %+v", b)
	}
	if opts.Workspace != "staging" || opts.Env["TF_VAR_db_password"] != "hunter22" {
		t.Errorf("options: workspace %q, env has TF_VAR: %v", opts.Workspace, opts.Env["TF_VAR_db_password"] != "")
	}
	if got := opts.Redact.String("pw=hunter22"); got != "pw="+config.Redacted {
		t.Errorf("redact: %q", got)
	}
}

func TestSettingsRedactSecrets(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1",
		"KM_SECRET_TF_VARS":     "admin_email",
		"TF_VAR_db_password":    "s3cr3t-pw",
		"TF_VAR_admin_email":    "ops@example.com",
		"TF_VAR_api_token":      "tok-123456",
		"TF_VAR_instance_class": "db.t4g.micro",
		"AWS_ACCESS_KEY_ID":     "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI",
		"AWS_SESSION_TOKEN":     "FwoGZXIvYXdzE",
	})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range cfg.Settings() {
		b.WriteString(s.Var + "=" + s.Value + "\n")
	}
	out := b.String()
	for _, secret := range []string{"s3cr3t-pw", "ops@example.com", "tok-123456", "AKIAEXAMPLE", "wJalrXUtnFEMI", "FwoGZXIvYXdzE"} {
		if strings.Contains(out, secret) {
			t.Errorf("settings show secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"TF_VAR_db_password=(redacted)", "TF_VAR_admin_email=(redacted)", "TF_VAR_instance_class=db.t4g.micro",
		"AWS_SECRET_ACCESS_KEY=(set)", "KM_ENV=staging", "KM_ROLLOUT_TIMEOUT=1h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("settings lack %q:\n%s", want, out)
		}
	}
	// Streamed text is redacted even when a secret is split across writes.
	var sink bytes.Buffer
	w := cfg.Redactor().Writer(&sink)
	w.Write([]byte("password is s3cr"))
	w.Write([]byte("3t-pw and key wJalrXUtnFEMI\nlast"))
	w.Close()
	if strings.Contains(sink.String(), "s3cr3t-pw") || strings.Contains(sink.String(), "wJalrXUtnFEMI") || !strings.HasSuffix(sink.String(), "last") {
		t.Errorf("redacting writer: %q", sink.String())
	}
}

func TestResourcesFromEnvWithoutTerraform(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1",
		// No terraform settings at all: with every needed name set, Terraform is not run.
		"KM_TF_DIR": "/nonexistent", "KM_TF_BINARY": "/nonexistent/terraform",
		"KM_CLUSTER": "km-staging", "KM_TASK_SUBNETS": "subnet-1, subnet-2", "KM_CONTAINER_PORT": "8000",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cfg.ResourcesFor(context.Background(), config.Needs{Required: []config.Field{config.Cluster, config.TaskSubnets, config.ContainerPort}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cluster != "km-staging" || !slices.Equal(res.TaskSubnets, []string{"subnet-1", "subnet-2"}) || res.ContainerPort != 8000 {
		t.Errorf("resources: %+v", res)
	}
	if res.Env()["KM_TASK_SUBNETS"] != "subnet-1,subnet-2" {
		t.Errorf("Env(): %v", res.Env())
	}
}

func TestResourcesForNamesMissingVariables(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_RESOURCES_FROM": "env", "KM_CONTAINER_PORT": "http",
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.ResourcesFor(context.Background(), config.Needs{Required: []config.Field{config.Cluster, config.WebBucket, config.ContainerPort}})
	var cerr *config.Error
	if !errors.As(err, &cerr) || !slices.Equal(cerr.Vars(), []string{"KM_CONTAINER_PORT", "KM_CLUSTER", "KM_WEB_BUCKET"}) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "web_bucket_name") {
		t.Errorf("message should name the Terraform output: %v", err)
	}
}

// docs/configuration.md documents every variable.
func TestDocsListEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Variables() {
		if !strings.Contains(string(doc), "`"+v.Name+"`") {
			t.Errorf("docs/configuration.md does not document %s", v.Name)
		}
	}
}

func TestAWSConfigFromEnvironment(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret-test", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	awsCfg, err := cfg.AWS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := awsCfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if awsCfg.Region != "eu-west-1" || creds.AccessKeyID != "AKIDTEST" || awsCfg.BaseEndpoint == nil || *awsCfg.BaseEndpoint != "http://127.0.0.1:1" {
		t.Errorf("aws config: region %q key %q endpoint %v", awsCfg.Region, creds.AccessKeyID, awsCfg.BaseEndpoint)
	}
}

func TestResourcesMissingNamesTheVariables(t *testing.T) {
	r := &config.Resources{Cluster: "km-staging", TaskSubnets: []string{}}
	got := r.Missing(config.Needs{Required: []config.Field{config.Cluster, config.Service, config.ContainerPort, config.TaskSubnets}, Optional: []config.Field{config.WebBucket}})
	want := []string{"KM_SERVICE", "KM_CONTAINER_PORT", "KM_TASK_SUBNETS"}
	if !slices.Equal(got, want) {
		t.Fatalf("Missing = %v, want %v", got, want)
	}
}

// Optional names are read like required ones (with every name set, no Terraform)
// but their absence is no error.
func TestResourcesForOptionalNames(t *testing.T) {
	cfg, err := config.Load(context.Background(), config.MapEnv{
		"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_RESOURCES_FROM": "env", "KM_CLUSTER": "km-staging",
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cfg.ResourcesFor(context.Background(), config.Needs{Required: []config.Field{config.Cluster}, Optional: []config.Field{config.MigrateFunction}})
	if err != nil || res.Cluster != "km-staging" || res.MigrateFunction != "" {
		t.Fatalf("resources %+v, %v", res, err)
	}
}

// A port outside 1-65535 is refused when the names are read, before any operation
// starts (KM_CONTAINER_PORT=70000 used to register a task definition first).
func TestContainerPortMustBeAPort(t *testing.T) {
	for _, port := range []string{"70000", "0", "-1", "http"} {
		cfg, err := config.Load(context.Background(), config.MapEnv{
			"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_RESOURCES_FROM": "env", "KM_CONTAINER_PORT": port,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cfg.ResourcesFor(context.Background(), config.Needs{Required: []config.Field{config.ContainerPort}})
		var cerr *config.Error
		if !errors.As(err, &cerr) || !slices.Equal(cerr.Vars(), []string{"KM_CONTAINER_PORT"}) || !strings.Contains(err.Error(), "1 to 65535") {
			t.Errorf("KM_CONTAINER_PORT=%s: %v", port, err)
		}
	}
}

// An empty environment reports, in one round, the settings, the flags' problems and
// the state bucket Terraform will need to read the resource names.
func TestLoadForReportsEveryProblemAtOnce(t *testing.T) {
	_, err := config.LoadFor(context.Background(), config.MapEnv{}, config.Requirement{
		Resources: config.Needs{Required: []config.Field{config.Cluster}},
		Flags:     []config.FieldError{config.Problemf("--image", "not given")},
	})
	var cerr *config.Error
	if !errors.As(err, &cerr) || !slices.Equal(cerr.Vars(), []string{"--image", "KM_ENV", "AWS_REGION", "KM_TF_DIR", "KM_TF_STATE_BUCKET"}) {
		t.Fatalf("got %v", err)
	}
	// With every name from KM_* variables, Terraform does not run: no bucket needed.
	_, err = config.LoadFor(context.Background(), config.MapEnv{"KM_ENV": "staging", "AWS_REGION": "us-east-1", "KM_CLUSTER": "c"},
		config.Requirement{Resources: config.Needs{Required: []config.Field{config.Cluster}}})
	if err != nil {
		t.Fatalf("all names set: %v", err)
	}
}
