package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/spf13/cobra"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/dbbackup"
	"github.com/knowmetools/km-release/internal/dbsecret"
)

func init() { register(newDBCmd) }

func newDBCmd() *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "Back up and restore the environment's database (runbook: docs/runbooks.md)"}
	var via string
	db.PersistentFlags().StringVar(&via, "via", "", "reach the database through HOST:PORT (a tunnel, e.g. an SSM port forward) instead of its private endpoint")

	var to string
	backup := &cobra.Command{
		Use:   "backup [--to FILE|s3://BUCKET/KEY]",
		Short: "pg_dump (custom format) the database, verify it reads back, and checksum it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tunnel, flags := parseVia(via)
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: dbbackup.BackupNeeds, Flags: flags})
			if err != nil {
				return err
			}
			conn, err := adminConn(ctx, env, tunnel)
			if err != nil {
				return err
			}
			if to == "" {
				to = fmt.Sprintf("%s-%s.dump", env.cfg.Env, time.Now().UTC().Format("20060102T150405Z"))
			}
			local, upload := to, dbbackup.IsS3URL(to)
			if upload {
				dir, err := os.MkdirTemp("", "kmdeploy-db-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				local = filepath.Join(dir, filepath.Base(to))
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "dumping %s ...\n", conn)
			res, err := dbbackup.Backup(ctx, dbbackup.Tools{}, conn, local)
			if err != nil {
				return err
			}
			if upload {
				if err := dbbackup.Upload(ctx, env.s3Client(), local, to); err != nil {
					return err
				}
			}
			fmt.Fprintf(out, "backup %s: %s, %d entries, sha256 %s, took %s\n", to, humanBytes(res.Bytes), res.Entries, res.SHA256, res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	backup.Flags().StringVar(&to, "to", "", "where to write the dump: a file (default <env>-<time>.dump) or s3://bucket/key")

	var from, targetDB string
	var force bool
	restore := &cobra.Command{
		Use:   "restore --from FILE|s3://BUCKET/KEY [--target-db NAME] [--force]",
		Short: "Restore a dump into an empty database, creating the app role with its stored password first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tunnel, flags := parseVia(via)
			if from == "" {
				flags.add("--from", "not given; pass the dump file or s3:// object written by `kmdeploy db backup`")
			}
			env, err := loadDeployEnv(ctx, config.Requirement{Resources: dbbackup.RestoreNeeds, Flags: flags})
			if err != nil {
				return err
			}
			conn, err := adminConn(ctx, env, tunnel)
			if err != nil {
				return err
			}
			if targetDB != "" {
				conn.DBName = targetDB
			}
			app, err := dbsecret.Read(ctx, secretsmanager.NewFromConfig(env.aws), env.res.DBAppSecretARN)
			if err != nil {
				return err
			}
			local := from
			if dbbackup.IsS3URL(from) {
				dir, err := os.MkdirTemp("", "kmdeploy-db-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				local = filepath.Join(dir, filepath.Base(from))
				if err := dbbackup.Download(ctx, env.s3Client(), from, local); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "restoring %s into %s ...\n", from, conn)
			res, err := dbbackup.Restore(ctx, dbbackup.Tools{}, dbbackup.RestoreOptions{
				From: local, Target: conn, App: dbbackup.AppRole{Name: app.Username, Password: app.Password}, AllowNonEmpty: force,
			})
			if err != nil {
				return err
			}
			if force {
				fmt.Fprintln(out, "--force: existing objects were replaced by the dump's")
			}
			fmt.Fprintf(out, "restored %s (sha256 %s): %d tables, role %s ready, took %s\n", humanBytes(res.Bytes), res.SHA256, res.Tables, app.Username, res.Duration.Round(time.Millisecond))
			return nil
		},
	}
	restore.Flags().StringVar(&from, "from", "", "the dump: a file or s3://bucket/key written by db backup (its .sha256 must be beside it)")
	restore.Flags().StringVar(&targetDB, "target-db", "", "database to restore into (default: the environment's database name)")
	restore.Flags().BoolVar(&force, "force", false, "restore over a database that already has tables (its objects are dropped first)")

	db.AddCommand(backup, restore)
	return db
}

// tunnel is where --via says the database is reached, if set.
type tunnel struct {
	host string
	port int
}

// parseVia checks --via (HOST:PORT of a tunnel to the database).
func parseVia(via string) (*tunnel, flagProblems) {
	var flags flagProblems
	if via == "" {
		return nil, flags
	}
	host, port, err := net.SplitHostPort(via)
	if err != nil {
		flags.add("--via", "cannot use %q; expected HOST:PORT of a tunnel to the database, e.g. 127.0.0.1:15432", via)
		return nil, flags
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		flags.add("--via", "cannot use %q: the port is not a number from 1 to 65535", via)
		return nil, flags
	}
	return &tunnel{host: host, port: p}, flags
}

// adminConn is the admin role's connection from the secret store, optionally through a tunnel.
func adminConn(ctx context.Context, env *deployEnv, via *tunnel) (dbbackup.Conn, error) {
	creds, err := dbsecret.Read(ctx, secretsmanager.NewFromConfig(env.aws), env.res.DBAdminSecretARN)
	if err != nil {
		return dbbackup.Conn{}, err
	}
	conn := dbbackup.Conn{Host: creds.Host, Port: creds.Port, DBName: env.res.DBName, User: creds.Username, Password: creds.Password}
	if via != nil {
		conn.Host, conn.Port = via.host, via.port
	}
	if conn.Host == "" {
		return conn, fmt.Errorf("the admin secret %s has no host: pass --via HOST:PORT", env.res.DBAdminSecretARN)
	}
	return conn, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
