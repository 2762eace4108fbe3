// Package dbbackup dumps and restores the environment's Postgres database with the real
// pg_dump and pg_restore, verifying what it writes. Passwords travel only in the child
// process's PGPASSWORD variable: never in argv, logs or errors.
package dbbackup

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/knowmetools/km-release/internal/config"
)

// BackupNeeds are the environment's names a backup reads: the admin credentials' secret
// and the database; RestoreNeeds add the app role's secret, whose role it recreates.
var (
	BackupNeeds  = config.Needs{Required: []config.Field{config.DBAdminSecretARN, config.DBName}}
	RestoreNeeds = BackupNeeds.Plus(config.Needs{Required: []config.Field{config.DBAppSecretARN}})
)

// Conn says how to reach one database as one role.
type Conn struct {
	Host     string
	Port     int
	DBName   string
	User     string
	Password string
}

// env is the libpq environment for pg_dump/pg_restore: the password stays out of argv.
func (c Conn) env() []string {
	return []string{
		"PGHOST=" + c.Host,
		"PGPORT=" + strconv.Itoa(c.port()),
		"PGUSER=" + c.User,
		"PGPASSWORD=" + c.Password,
		"PGDATABASE=" + c.DBName,
		"PGSSLMODE=prefer",
		"PGCONNECT_TIMEOUT=15",
	}
}

// URL is a pgx connection URL.
func (c Conn) URL() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password), Host: net.JoinHostPort(c.Host, strconv.Itoa(c.port())), Path: "/" + c.DBName, RawQuery: "sslmode=prefer&connect_timeout=15"}
	return u.String()
}

// String describes the connection without its password.
func (c Conn) String() string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.port(), c.DBName)
}

func (c Conn) port() int {
	if c.Port == 0 {
		return 5432
	}
	return c.Port
}
