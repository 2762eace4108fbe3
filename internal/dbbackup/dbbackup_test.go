package dbbackup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/internal/dbbackup"
	"github.com/knowmetools/km-release/testrig/pglocal"
	"github.com/knowmetools/km-release/testrig/pglocal/pgtest"
)

func startServer(t *testing.T) *pglocal.Server {
	t.Helper()
	srv, err := pglocal.Start(context.Background(), pglocal.Options{SuperPassword: "s3cr3t-admin-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func rows(t *testing.T, url, query string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	r, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func admin(srv *pglocal.Server, db string) dbbackup.Conn {
	return dbbackup.Conn{Host: srv.Host, Port: srv.Port, DBName: db, User: srv.SuperUser, Password: srv.SuperPassword}
}

func TestBackupRestoreRoundTripWithAppRole(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t)
	pgtest.Exec(t, srv.SuperURL("postgres"), `create database source`, `create database target`)
	pgtest.Exec(t, srv.SuperURL("source"),
		`create table profiles (id serial primary key, name text not null, bio text)`,
		`insert into profiles (name, bio) select 'user ' || g, repeat('x', g % 50) from generate_series(1, 500) g`,
		`create table job_runs (id bigserial primary key, version text)`,
		`insert into job_runs (version) values ('v1'), ('v2')`)

	dump := filepath.Join(t.TempDir(), "knowme.dump")
	res, err := dbbackup.Backup(ctx, dbbackup.Tools{}, admin(srv, "source"), dump)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes == 0 || res.Entries < 4 || len(res.SHA256) != 64 {
		t.Fatalf("backup result %+v: want a non-empty verified dump with a checksum", res)
	}
	if b, _ := os.ReadFile(dump); strings.Contains(string(b), srv.SuperPassword) {
		t.Fatal("the dump contains the admin password")
	}

	app := dbbackup.AppRole{Name: "knowme_app", Password: "app-pw-from-secret-store"}
	rr, err := dbbackup.Restore(ctx, dbbackup.Tools{}, dbbackup.RestoreOptions{From: dump, Target: admin(srv, "target"), App: app})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Tables != 2 || rr.SHA256 != res.SHA256 {
		t.Fatalf("restore result %+v, want 2 tables and the backup's checksum", rr)
	}
	const q = `select id || ':' || name || ':' || coalesce(bio, '') from profiles order by id`
	want, got := rows(t, srv.SuperURL("source"), q), rows(t, srv.URL("target", app.Name, app.Password), q)
	if len(want) != 500 || strings.Join(want, "\n") != strings.Join(got, "\n") {
		t.Fatalf("restored profiles differ: %d rows vs %d", len(got), len(want))
	}
	// The app role logs in with its stored password and can write.
	pgtest.Exec(t, srv.URL("target", app.Name, app.Password), `insert into job_runs (version) values ('after-restore')`)
}

func TestRestoreRefusesNonEmptyTargetUnlessForced(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t)
	pgtest.Exec(t, srv.SuperURL("postgres"), `create database source`, `create database busy`)
	pgtest.Exec(t, srv.SuperURL("source"), `create table profiles (id int primary key)`, `insert into profiles values (1), (2)`)
	pgtest.Exec(t, srv.SuperURL("busy"), `create table profiles (id int primary key)`, `insert into profiles values (99)`, `create table keepme (id int)`)

	dump := filepath.Join(t.TempDir(), "db.dump")
	if _, err := dbbackup.Backup(ctx, dbbackup.Tools{}, admin(srv, "source"), dump); err != nil {
		t.Fatal(err)
	}
	_, err := dbbackup.Restore(ctx, dbbackup.Tools{}, dbbackup.RestoreOptions{From: dump, Target: admin(srv, "busy")})
	var notEmpty *dbbackup.NotEmptyError
	if !errors.As(err, &notEmpty) || notEmpty.Tables != 2 || !errors.Is(err, dbbackup.ErrTargetNotEmpty) {
		t.Fatalf("restore into a non-empty database: err = %v, want NotEmptyError with 2 tables", err)
	}
	if got := rows(t, srv.SuperURL("busy"), `select id::text from profiles`); len(got) != 1 || got[0] != "99" {
		t.Fatalf("the refused restore changed the target: %v", got)
	}
	if _, err := dbbackup.Restore(ctx, dbbackup.Tools{}, dbbackup.RestoreOptions{From: dump, Target: admin(srv, "busy"), AllowNonEmpty: true}); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, srv.SuperURL("busy"), `select id::text from profiles order by id`); strings.Join(got, ",") != "1,2" {
		t.Fatalf("forced restore: profiles = %v, want 1,2", got)
	}
}

func TestDamagedDumpAndWrongPasswordFailWithoutSecrets(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t)
	pgtest.Exec(t, srv.SuperURL("postgres"), `create database source`, `create database target`)
	pgtest.Exec(t, srv.SuperURL("source"), `create table t (id int)`)
	dump := filepath.Join(t.TempDir(), "db.dump")
	if _, err := dbbackup.Backup(ctx, dbbackup.Tools{}, admin(srv, "source"), dump); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(dump, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("tampered"))
	f.Close()
	if _, err := dbbackup.Restore(ctx, dbbackup.Tools{}, dbbackup.RestoreOptions{From: dump, Target: admin(srv, "target")}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("restore of a changed dump: err = %v, want a checksum mismatch", err)
	}

	wrong := admin(srv, "source")
	wrong.Password = "not-the-password-123"
	_, err := dbbackup.Backup(ctx, dbbackup.Tools{}, wrong, filepath.Join(t.TempDir(), "x.dump"))
	if err == nil {
		t.Fatal("backup with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), wrong.Password) {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestArgvNeverCarriesThePassword(t *testing.T) {
	opts := dbbackup.RestoreOptions{From: "/tmp/x.dump", Target: dbbackup.Conn{DBName: "db", Password: "pw-xyz"}}
	for _, args := range [][]string{dbbackup.DumpArgs("/tmp/x.dump"), dbbackup.RestoreArgs(opts)} {
		if strings.Contains(strings.Join(args, " "), "pw-xyz") {
			t.Fatalf("argv %v holds the password", args)
		}
	}
	if got := strings.Join(dbbackup.RestoreArgs(opts), " "); strings.Contains(got, "--clean") {
		t.Fatalf("restore without AllowNonEmpty must not clean: %s", got)
	}
}
