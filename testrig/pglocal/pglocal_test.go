package pglocal_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/pglocal"
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

// A test binary killed mid-test (a timeout, Ctrl-C) must not leave its server running.
func TestServerDiesWithTheProcessThatStartedIt(t *testing.T) {
	if os.Getenv("PGLOCAL_CHILD") == "1" {
		srv, err := pglocal.Start(context.Background(), pglocal.Options{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("port:", srv.Port)
		select {} // killed by the parent
	}
	child := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTheProcessThatStartedIt$")
	child.Env = append(os.Environ(), "PGLOCAL_CHILD=1")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "port: ") {
		child.Process.Kill()
		t.Fatalf("child said %q, %v", line, err)
	}
	addr := "127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "port: "))
	child.Process.Kill()
	child.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return // the server went with its parent
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("postgres on %s still accepts connections 15 s after its parent was killed", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
