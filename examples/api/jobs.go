package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// backgroundJobs stands in for km-api's four periodic management commands: it records a
// run, as the app role, so a test can see it happened on the live schema.
func backgroundJobs(ctx context.Context, cfg config) error {
	conn, err := pgx.Connect(ctx, cfg.url(cfg.DBUser, cfg.DBPassword))
	if err != nil {
		return fmt.Errorf("connecting as %s: %w", cfg.DBUser, err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := conn.QueryRow(ctx, `insert into job_runs (version) values ($1) returning id`, version).Scan(&id); err != nil {
		return fmt.Errorf("recording the job run: %w", err)
	}
	fmt.Printf("background jobs run %d done (version %s)\n", id, version)
	return nil
}
