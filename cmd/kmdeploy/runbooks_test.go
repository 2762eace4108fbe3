package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/pglocal"
	"github.com/knowmetools/km-release/testrig/pglocal/pgtest"
)

func TestDBBackupAndRestoreCommandsUseTheSecretStoreAndNeverPrintIt(t *testing.T) {
	ctx := context.Background()
	emu := emutest.Start(t)
	srv, err := pglocal.Start(ctx, pglocal.Options{SuperPassword: "admin-pw-4f9a"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pgtest.Exec(t, srv.SuperURL("postgres"), `create database knowme`, `create database knowme_new`)
	pgtest.Exec(t, srv.SuperURL("knowme"), `create table profiles (id int primary key, name text)`, `insert into profiles values (1, 'ada'), (2, 'grace')`)

	name := emutest.UniqueName(t)
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())
	secrets := map[string]string{
		name + "-admin": fmt.Sprintf(`{"username":%q,"password":%q,"host":"127.0.0.1","port":%d,"dbname":"knowme"}`, srv.SuperUser, srv.SuperPassword, srv.Port),
		name + "-app":   `{"username":"knowme_app","password":"app-pw-77c1"}`,
	}
	for id, v := range secrets {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	bucket := name + "-backups"
	s3c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	env := emuEnv(t, map[string]string{
		"KM_DB_ADMIN_SECRET_ARN": name + "-admin", "KM_DB_APP_SECRET_ARN": name + "-app", "KM_DB_NAME": "knowme",
	})

	file := filepath.Join(t.TempDir(), "knowme.dump")
	var printed strings.Builder
	for _, args := range [][]string{
		{"db", "backup", "--to", file},
		{"db", "backup", "--to", "s3://" + bucket + "/db/knowme.dump"},
		{"db", "restore", "--from", "s3://" + bucket + "/db/knowme.dump", "--target-db", "knowme_new"},
	} {
		stdout, stderr, code := kmdeploy(t, env, args...)
		printed.WriteString(stdout + stderr)
		if code != 0 {
			t.Fatalf("kmdeploy %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(file + ".sha256"); err != nil {
		t.Fatalf("no checksum beside the file backup: %v", err)
	}
	// Restoring into a database with tables is refused.
	stdout, stderr, code := kmdeploy(t, env, "db", "restore", "--from", file, "--target-db", "knowme")
	printed.WriteString(stdout + stderr)
	if code == 0 || !strings.Contains(stderr, "--force") {
		t.Fatalf("restore into the non-empty source: exit %d\n%s", code, stderr)
	}
	for _, secret := range []string{"admin-pw-4f9a", "app-pw-77c1"} {
		if strings.Contains(printed.String(), secret) {
			t.Fatalf("a password was printed:\n%s", printed.String())
		}
	}
	// The app role was created with its stored password and reads the restored data.
	conn, err := pgx.Connect(ctx, srv.URL("knowme_new", "knowme_app", "app-pw-77c1"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var names string
	if err := conn.QueryRow(ctx, `select string_agg(name, ',' order by id) from profiles`).Scan(&names); err != nil || names != "ada,grace" {
		t.Fatalf("restored profiles = %q, %v", names, err)
	}
}

func TestBucketCopyCommand(t *testing.T) {
	ctx := context.Background()
	emu := emutest.Start(t)
	s3c := s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	from, to := emutest.UniqueName(t), emutest.UniqueName(t)
	for _, b := range []string{from, to} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(from), Key: aws.String(fmt.Sprintf("m/%d.txt", i)), Body: strings.NewReader("x")})
	}
	env := emuEnv(t, nil)
	stdout, stderr, code := kmdeploy(t, env, "bucket", "copy", "--from", from, "--to", to, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "5 of 5 objects to copy") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	stdout, stderr, code = kmdeploy(t, env, "bucket", "copy", "--from", from, "--to", to)
	if code != 0 || !strings.Contains(stdout, "copied 5 objects") || !strings.Contains(stdout, "verified 5 objects") {
		t.Fatalf("copy: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestMaintenanceCommandRoundTrip(t *testing.T) {
	ctx := context.Background()
	emu := emutest.Start(t)
	ecsc, ebc := ecs.NewFromConfig(emu.AWSConfig()), eventbridge.NewFromConfig(emu.AWSConfig())
	name := emutest.UniqueName(t)
	ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	td, err := ecsc.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(name),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api"), Image: aws.String("x"), Memory: aws.Int32(256)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecsc.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(name), ServiceName: aws.String(name), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ebc.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), ScheduleExpression: aws.String("rate(15 minutes)")}); err != nil {
		t.Fatal(err)
	}
	env := emuEnv(t, map[string]string{"KM_CLUSTER": name, "KM_SERVICE": name, "KM_JOBS_SCHEDULE_RULE": name})
	for _, step := range []struct{ arg, want string }{
		{"on", "maintenance mode on (off restores 2 tasks)"},
		{"on", "runs 0 tasks; jobs schedule DISABLED"},
		{"off", "maintenance mode off; " + name + " runs 2 tasks; jobs schedule ENABLED"},
	} {
		stdout, stderr, code := kmdeploy(t, env, "maintenance", step.arg)
		if code != 0 || !strings.Contains(stdout, step.want) {
			t.Fatalf("maintenance %s: exit %d, want %q in\n%s%s", step.arg, code, step.want, stdout, stderr)
		}
	}
	_, stderr, code := kmdeploy(t, map[string]string{"KM_ENV": "test", "KM_RESOURCES_FROM": "env", "KM_CLUSTER": "", "KM_SERVICE": "", "KM_JOBS_SCHEDULE_RULE": ""}, "maintenance", "on")
	if code != 2 || !strings.Contains(stderr, "KM_CLUSTER") || !strings.Contains(stderr, "KM_SERVICE") {
		t.Fatalf("missing names: exit %d, want 2 naming KM_CLUSTER and KM_SERVICE\n%s", code, stderr)
	}
}
