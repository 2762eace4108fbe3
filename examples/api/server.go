package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// serve answers GET /status/ with 503 until every shipped migration is applied, so the
// load balancer never sends traffic to a version whose schema is not there yet.
func serve(ctx context.Context, cfg config) error {
	files, err := listMigrations(cfg.MigrationsDir)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status/", func(w http.ResponseWriter, r *http.Request) {
		code, body := status(r.Context(), cfg, files)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "know me sample api %s\n", version)
	})
	srv := &http.Server{Addr: cfg.ListenAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("serving version %s on %s", version, cfg.ListenAddr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type statusBody struct {
	Status  string   `json:"status"`
	Version string   `json:"version"`
	Pending []string `json:"pending_migrations,omitempty"`
	Error   string   `json:"error,omitempty"`
}

func status(ctx context.Context, cfg config, files []migrationFile) (int, statusBody) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body := statusBody{Version: version}
	conn, err := pgx.Connect(ctx, cfg.url(cfg.DBUser, cfg.DBPassword))
	if err != nil {
		body.Status, body.Error = "database unavailable", "cannot connect to the database"
		return http.StatusServiceUnavailable, body
	}
	defer conn.Close(ctx)
	pending, err := pendingMigrations(ctx, conn, files)
	if err != nil {
		// Before the first migration the table does not exist: everything is pending.
		body.Status = "migrations pending"
		for _, f := range files {
			body.Pending = append(body.Pending, f.Version)
		}
		return http.StatusServiceUnavailable, body
	}
	if len(pending) > 0 {
		body.Status, body.Pending = "migrations pending", pending
		return http.StatusServiceUnavailable, body
	}
	body.Status = "ok"
	return http.StatusOK, body
}
