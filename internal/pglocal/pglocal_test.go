package pglocal_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/internal/pglocal"
)

func TestStartServesSQLWithPasswordAuth(t *testing.T) {
	ctx := context.Background()
	srv, err := pglocal.Start(ctx, pglocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	conn, err := pgx.Connect(ctx, srv.SuperURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var got int
	if err := conn.QueryRow(ctx, "select 40 + 2").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 42 {
		t.Fatalf("select 40 + 2 = %d", got)
	}
	if _, err := pgx.Connect(ctx, srv.URL("postgres", srv.SuperUser, "wrong")); err == nil {
		t.Fatal("connecting with a wrong password succeeded; TCP auth must require the password")
	}
}
