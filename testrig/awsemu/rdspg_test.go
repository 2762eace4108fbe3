package awsemu_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/awsemu"
)

// pgURL is the URL of database db at an RDS endpoint.
func pgURL(ep *rdstypes.Endpoint, user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Path: "/" + db, RawQuery: "sslmode=disable",
		Host: net.JoinHostPort(aws.ToString(ep.Address), strconv.Itoa(int(aws.ToInt32(ep.Port))))}
	return u.String()
}

func TestRDSInstanceOnRealPostgres(t *testing.T) {
	ctx := t.Context()
	// Its own emulator: the shared one runs without Postgres.
	var logMu sync.Mutex
	var logged strings.Builder
	emu, err := awsemu.Start(ctx, awsemu.Options{Postgres: true, Logf: func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(&logged, format+"\n", args...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	c := rds.NewFromConfig(emu.AWSConfig())
	create := func(id, password string) *rdstypes.DBInstance {
		out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(id), Engine: aws.String("postgres"), EngineVersion: aws.String("16"),
			DBInstanceClass: aws.String("db.t4g.micro"), AllocatedStorage: aws.Int32(20),
			// "postgres" as on RDS's console: the server's own superuser must not be in the way.
			MasterUsername: aws.String("postgres"), MasterUserPassword: aws.String(password), DBName: aws.String("app"),
		})
		check(t, "CreateDBInstance", err)
		return out.DBInstance
	}
	created := create("main", "first-Password-1")
	described, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("main")})
	check(t, "DescribeDBInstances", err)
	for what, inst := range map[string]*rdstypes.DBInstance{"CreateDBInstance": created, "DescribeDBInstances": &described.DBInstances[0]} {
		if ep := inst.Endpoint; aws.ToString(ep.Address) != "127.0.0.1" || aws.ToInt32(inst.DbInstancePort) != aws.ToInt32(ep.Port) {
			t.Fatalf("%s: endpoint %s:%d, DbInstancePort %d; want the local server's", what, aws.ToString(ep.Address), aws.ToInt32(ep.Port), aws.ToInt32(inst.DbInstancePort))
		}
	}
	ep := described.DBInstances[0].Endpoint

	conn, err := pgx.Connect(ctx, pgURL(ep, "postgres", "first-Password-1", "app"))
	check(t, "connect as the master user", err)
	var user, owner string
	var createRole bool
	err = conn.QueryRow(ctx, `SELECT current_user, pg_get_userbyid(d.datdba), r.rolcreaterole
		FROM pg_database d, pg_roles r WHERE d.datname = current_database() AND r.rolname = current_user`).Scan(&user, &owner, &createRole)
	check(t, "query", err)
	if user != "postgres" || owner != "postgres" || !createRole {
		t.Errorf("user %q owning %q, CREATEROLE %v; want the master user owning the database, with CREATEROLE", user, owner, createRole)
	}
	// What a migration does first: its own role, its own tables.
	_, err = conn.Exec(ctx, "CREATE ROLE app_user LOGIN PASSWORD 'app-pw'; CREATE TABLE notes (id int)")
	check(t, "create a role and a table as the master user", err)
	conn.Close(ctx)

	_, err = c.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{DBInstanceIdentifier: aws.String("main"),
		MasterUserPassword: aws.String("second-Password-2"), ApplyImmediately: aws.Bool(true)})
	check(t, "ModifyDBInstance", err)
	if conn, err := pgx.Connect(ctx, pgURL(ep, "postgres", "first-Password-1", "app")); err == nil {
		conn.Close(ctx)
		t.Error("the old master password still works after ModifyDBInstance")
	}
	conn, err = pgx.Connect(ctx, pgURL(ep, "postgres", "second-Password-2", "app"))
	check(t, "connect with the new master password", err)
	conn.Close(ctx)

	_, err = c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("main"), SkipFinalSnapshot: aws.Bool(true)})
	check(t, "DeleteDBInstance", err)
	if accepts(ep) {
		t.Error("the server still accepts connections after DeleteDBInstance")
	}

	other := create("other", "other-Password-3").Endpoint
	emu.Close()
	if accepts(other) {
		t.Error("the server still accepts connections after Close")
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, pw := range []string{"first-Password-1", "second-Password-2", "other-Password-3"} {
		if strings.Contains(logged.String(), pw) {
			t.Errorf("a master password is in the emulation's log:\n%s", logged.String())
		}
	}
}

// accepts reports whether the endpoint takes TCP connections.
func accepts(ep *rdstypes.Endpoint) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(aws.ToString(ep.Address), strconv.Itoa(int(aws.ToInt32(ep.Port)))))
	if err == nil {
		conn.Close()
	}
	return err == nil
}
