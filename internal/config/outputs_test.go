package config_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/terraform"
)

// Terraform outputs of the environment's workspace feed Resources, and KM_* variables
// override single names.
func TestResourcesFromTerraformOutputs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := t.TempDir()
	dir := filepath.Join(root, "infra")
	if err := os.CopyFS(dir, os.DirFS("../terraform/testdata/basic")); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(root, "terraformrc")
	if err := os.WriteFile(rc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := config.MapEnv{
		"PATH": os.Getenv("PATH"), "HOME": root, "TF_CLI_CONFIG_FILE": rc,
		"KM_ENV": "qa", "AWS_REGION": "us-east-1",
		"KM_TF_DIR": dir, "KM_TF_BACKEND": "local", "KM_TF_LOCAL_STATE_DIR": filepath.Join(root, "state"),
		"KM_SERVICE": "api-overridden",
	}
	cfg, err := config.Load(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.TerraformOptions()
	if err != nil {
		t.Fatal(err)
	}
	r, err := terraform.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.AutoApply(ctx, cfg.Guard(nil)); err != nil {
		t.Fatal(err)
	}

	res, err := cfg.ResourcesFor(ctx, config.Needs{Required: []config.Field{config.Cluster, config.Service, config.ContainerPort, config.TaskSubnets}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cluster != "km-qa" || res.Service != "api-overridden" || res.ContainerPort != 8000 || !slices.Equal(res.TaskSubnets, []string{"subnet-a", "subnet-b"}) {
		t.Errorf("resources: %+v", res)
	}
	// A name the outputs do not have is reported with its output and variable.
	_, err = cfg.ResourcesFor(ctx, config.Needs{Required: []config.Field{config.Cluster, config.WebBucket}})
	if cerr, ok := err.(*config.Error); !ok || !slices.Equal(cerr.Vars(), []string{"KM_WEB_BUCKET"}) {
		t.Errorf("missing output: %v", err)
	}
}
