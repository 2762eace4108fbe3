package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrate does what km-api's `migrate` command does: ensure the app role, apply the
// migrations (each in its own transaction, so a failing one leaves the schema at the
// previous version), grant the app role access, and ensure the first admin user.
func migrate(ctx context.Context, cfg config) error {
	if err := cfg.requireMigrateSettings(); err != nil {
		return err
	}
	files, err := listMigrations(cfg.MigrationsDir)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, cfg.url(cfg.AdminDBUser, cfg.AdminDBPassword))
	if err != nil {
		return fmt.Errorf("connecting as %s: %w", cfg.AdminDBUser, err)
	}
	defer conn.Close(ctx)

	// One migrator at a time, even if two tasks are started.
	if _, err := conn.Exec(ctx, `select pg_advisory_lock(727274)`); err != nil {
		return err
	}
	if err := ensureAppRole(ctx, conn, cfg.DBUser, cfg.DBPassword); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return err
	}
	pending, err := pendingMigrations(ctx, conn, files)
	if err != nil {
		return err
	}
	byVersion := map[string]migrationFile{}
	for _, f := range files {
		byVersion[f.Version] = f
	}
	for _, v := range pending {
		if err := applyMigration(ctx, conn, byVersion[v]); err != nil {
			return err
		}
		fmt.Printf("applied migration %s\n", v)
	}
	if len(pending) == 0 {
		fmt.Println("no migrations to apply")
	}
	grants := []string{
		fmt.Sprintf(`grant select, insert, update, delete on all tables in schema public to %s`, pgx.Identifier{cfg.DBUser}.Sanitize()),
		fmt.Sprintf(`grant usage, select on all sequences in schema public to %s`, pgx.Identifier{cfg.DBUser}.Sanitize()),
	}
	for _, g := range grants {
		if _, err := conn.Exec(ctx, g); err != nil {
			return fmt.Errorf("granting the app role access: %w", err)
		}
	}
	if err := ensureAdmin(ctx, conn, cfg.AdminEmail, cfg.AdminPassword); err != nil {
		return err
	}
	fmt.Printf("migrations complete at version %s\n", version)
	return nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, f migrationFile) error {
	sql, err := os.ReadFile(f.Path)
	if err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, string(sql)); err != nil {
		return fmt.Errorf("migration %s failed, nothing of it was applied: %w", f.Version, err)
	}
	if _, err := tx.Exec(ctx, `insert into schema_migrations (version) values ($1)`, f.Version); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func ensureAppRole(ctx context.Context, conn *pgx.Conn, user, password string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `select exists(select 1 from pg_roles where rolname = $1)`, user).Scan(&exists); err != nil {
		return err
	}
	verb := "create"
	if exists {
		verb = "alter"
	}
	// Passwords cannot be bound as parameters in role DDL; quote them as literals.
	stmt := fmt.Sprintf(`%s role %s with login password '%s'`, verb, pgx.Identifier{user}.Sanitize(), escapeLiteral(password))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s app role %s failed", verb, user) // the statement holds the password: never echo it
	}
	return nil
}

func ensureAdmin(ctx context.Context, conn *pgx.Conn, email, password string) error {
	if _, err := conn.Exec(ctx, `create table if not exists admin_users (
		email text primary key, password_salt text not null, password_sha256 text not null)`); err != nil {
		return err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	sum := sha256.Sum256(append(salt, password...))
	_, err := conn.Exec(ctx, `insert into admin_users (email, password_salt, password_sha256) values ($1, $2, $3)
		on conflict (email) do nothing`, email, hex.EncodeToString(salt), hex.EncodeToString(sum[:]))
	return err
}

func escapeLiteral(s string) string { return strings.ReplaceAll(s, "'", "''") }
