package dbbackup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AppRole is the application's login role, created before the restore so the restored
// grants and the running app find it.
type AppRole struct {
	Name     string
	Password string
}

// RestoreOptions says what to restore where.
type RestoreOptions struct {
	From   string // a custom-format dump written by Backup
	Target Conn   // an admin connection to the (new, empty) target database
	App    AppRole
	// AllowNonEmpty restores over existing objects (pg_restore --clean); without it a
	// target that already has tables is refused so nothing is overwritten by mistake.
	AllowNonEmpty bool
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	Bytes    int64
	SHA256   string
	Tables   int
	Duration time.Duration
}

// ErrTargetNotEmpty refuses a restore that would overwrite data.
var ErrTargetNotEmpty = errors.New("target database is not empty")

// NotEmptyError names what the target already holds.
type NotEmptyError struct {
	Target string
	Tables int
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("%s already has %d tables: restore into a new, empty database, or pass --force to replace its objects with the dump's", e.Target, e.Tables)
}
func (e *NotEmptyError) Unwrap() error { return ErrTargetNotEmpty }

// RestoreArgs is pg_restore's argv.
func RestoreArgs(opts RestoreOptions) []string {
	args := []string{"--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", opts.Target.DBName}
	if opts.AllowNonEmpty {
		args = append(args, "--clean", "--if-exists")
	}
	return append(args, opts.From)
}

// Restore checks the dump, refuses a non-empty target unless allowed, creates the app
// role with its stored password, restores, and grants the app role its access.
func Restore(ctx context.Context, tools Tools, opts RestoreOptions) (*RestoreResult, error) {
	start := time.Now()
	info, err := os.Stat(opts.From)
	if err != nil {
		return nil, fmt.Errorf("no dump at %s: %w", opts.From, err)
	}
	sum, err := CheckSHA256(opts.From)
	if err != nil {
		return nil, err
	}
	if _, err := Verify(ctx, tools, opts.From); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, opts.Target.URL())
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", opts.Target, redact(err, opts.Target.Password))
	}
	defer conn.Close(ctx)
	tables, err := countTables(ctx, conn)
	if err != nil {
		return nil, err
	}
	if tables > 0 && !opts.AllowNonEmpty {
		return nil, &NotEmptyError{Target: opts.Target.String(), Tables: tables}
	}
	if opts.App.Name != "" {
		if err := ensureRole(ctx, conn, opts.App); err != nil {
			return nil, err
		}
	}
	if _, err := run(command(ctx, tools.pgRestore(), opts.Target, RestoreArgs(opts)...), opts.Target.Password); err != nil {
		return nil, err
	}
	if opts.App.Name != "" {
		if err := grantApp(ctx, conn, opts.App.Name); err != nil {
			return nil, err
		}
	}
	if tables, err = countTables(ctx, conn); err != nil {
		return nil, err
	}
	return &RestoreResult{Bytes: info.Size(), SHA256: sum, Tables: tables, Duration: time.Since(start)}, nil
}

func countTables(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')`).Scan(&n)
	return n, err
}

func ensureRole(ctx context.Context, conn *pgx.Conn, role AppRole) error {
	var exists bool
	if err := conn.QueryRow(ctx, `select exists(select 1 from pg_roles where rolname = $1)`, role.Name).Scan(&exists); err != nil {
		return err
	}
	verb := "create"
	if exists {
		verb = "alter"
	}
	// Role DDL takes no bind parameters: the password goes in as a quoted literal and the
	// statement (which holds it) is never echoed.
	stmt := fmt.Sprintf(`%s role %s with login password %s`, verb, pgx.Identifier{role.Name}.Sanitize(), quoteLiteral(role.Password))
	if _, err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s role %s: %w", verb, role.Name, redact(err, role.Password))
	}
	return nil
}

func grantApp(ctx context.Context, conn *pgx.Conn, role string) error {
	id := pgx.Identifier{role}.Sanitize()
	for _, stmt := range []string{
		`grant usage on schema public to ` + id,
		`grant select, insert, update, delete on all tables in schema public to ` + id,
		`grant usage, select on all sequences in schema public to ` + id,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("granting %s its access: %w", role, err)
		}
	}
	return nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// redact removes a secret from an error from the driver, which may quote the statement.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}
