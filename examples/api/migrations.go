package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrationFile is one NNNN_name.sql file shipped in the image next to the binary.
type migrationFile struct {
	Version string // the file name without .sql
	Path    string
}

func listMigrations(dir string) ([]migrationFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var files []migrationFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		files = append(files, migrationFile{Version: strings.TrimSuffix(e.Name(), ".sql"), Path: filepath.Join(dir, e.Name())})
	}
	slices.SortFunc(files, func(a, b migrationFile) int { return strings.Compare(a.Version, b.Version) })
	return files, nil
}

const createMigrationsTable = `create table if not exists schema_migrations (
	version text primary key,
	applied_at timestamptz not null default now()
)`

// pendingMigrations lists the shipped migrations the database has not applied.
func pendingMigrations(ctx context.Context, conn *pgx.Conn, files []migrationFile) ([]string, error) {
	applied := map[string]bool{}
	rows, err := conn.Query(ctx, `select version from schema_migrations`)
	if err != nil {
		return nil, err
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		applied[v] = true
	}
	var pending []string
	for _, f := range files {
		if !applied[f.Version] {
			pending = append(pending, f.Version)
		}
	}
	return pending, nil
}
