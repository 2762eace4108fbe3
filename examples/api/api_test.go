package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/freeport"
	"github.com/knowmetools/km-release/testrig/pglocal"
)

// The sample is tested as a built binary against a real Postgres, the way the emulation
// runs it inside a task.
func buildSample(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "api")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version=test-1", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startDatabase(t *testing.T) (*pglocal.Server, []string) {
	t.Helper()
	ctx := context.Background()
	srv, err := pglocal.Start(ctx, pglocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	conn, err := pgx.Connect(ctx, srv.SuperURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `create database knowme`); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"DJANGO_DB_HOST=127.0.0.1", "DJANGO_DB_PORT=" + strconv.Itoa(srv.Port), "DJANGO_DB_NAME=knowme",
		"DJANGO_DB_USER=app", "DJANGO_DB_PASSWORD=app-password",
		"DATABASE_ADMIN_USER=" + srv.SuperUser, "DATABASE_ADMIN_PASSWORD=" + srv.SuperPassword,
		"ADMIN_EMAIL=admin@example.com", "ADMIN_PASSWORD=admin-password",
	}
	return srv, env
}

func freePort(t *testing.T) string {
	t.Helper()
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(port)
}

func migrationsWith(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("migrations/*.sql")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	for name, sql := range extra {
		os.WriteFile(filepath.Join(dir, name), []byte(sql), 0o644)
	}
	return dir
}

func runCmd(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func getStatus(t *testing.T, url string) (int, statusBody) {
	t.Helper()
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		resp, err = http.Get(url)
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body statusBody
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestStatusGatesOnMigrationsAndJobsRunAfter(t *testing.T) {
	bin := buildSample(t)
	_, env := startDatabase(t)
	port := freePort(t)
	env = append(env, "MIGRATIONS_DIR="+migrationsWith(t, nil), "PORT="+port)
	statusURL := "http://127.0.0.1:" + port + "/status/"

	server := exec.Command(bin, "server")
	server.Env = append(os.Environ(), env...)
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { server.Process.Kill(); server.Wait() }()

	if code, body := getStatus(t, statusURL); code != http.StatusServiceUnavailable {
		t.Fatalf("before migrate: status %d %+v, want 503", code, body)
	}
	if out, err := runCmd(bin, env, "background-jobs"); err == nil {
		t.Fatalf("background-jobs before migrate succeeded: %s", out)
	}
	if out, err := runCmd(bin, env, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	} else if strings.Contains(out, "app-password") || strings.Contains(out, "admin-password") {
		t.Fatalf("migrate printed a password: %s", out)
	}
	code, body := getStatus(t, statusURL)
	if code != http.StatusOK || body.Version != "test-1" {
		t.Fatalf("after migrate: status %d %+v, want 200 with version test-1", code, body)
	}
	if out, err := runCmd(bin, env, "background-jobs"); err != nil {
		t.Fatalf("background-jobs: %v\n%s", err, out)
	}
	// Migrating again is a no-op.
	if out, err := runCmd(bin, env, "migrate"); err != nil || !strings.Contains(out, "no migrations to apply") {
		t.Fatalf("second migrate: %v\n%s", err, out)
	}
}

func TestFailingMigrationAppliesNothingOfItself(t *testing.T) {
	bin := buildSample(t)
	srv, env := startDatabase(t)
	env = append(env, "MIGRATIONS_DIR="+migrationsWith(t, map[string]string{
		"0003_broken.sql": "alter table profiles add column nickname text; select * from no_such_table;",
	}))
	out, err := runCmd(bin, env, "migrate")
	if err == nil {
		t.Fatalf("migrate with a broken migration succeeded:\n%s", out)
	}
	if !strings.Contains(out, "0003_broken") {
		t.Fatalf("error does not name the failing migration:\n%s", out)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.SuperURL("knowme"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var hasNickname bool
	conn.QueryRow(ctx, `select exists(select 1 from information_schema.columns where table_name='profiles' and column_name='nickname')`).Scan(&hasNickname)
	if hasNickname {
		t.Fatal("the failing migration's first statement was kept")
	}
	var applied int
	conn.QueryRow(ctx, `select count(*) from schema_migrations`).Scan(&applied)
	if applied != 2 {
		t.Fatalf("applied migrations = %d, want the 2 good ones", applied)
	}
}

func TestConfigNamesEveryMissingVariable(t *testing.T) {
	_, err := loadConfig(func(string) string { return "" })
	if err == nil {
		t.Fatal("empty environment accepted")
	}
	for _, name := range []string{"DJANGO_DB_HOST", "DJANGO_DB_NAME", "DJANGO_DB_PASSWORD", "DJANGO_DB_USER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
