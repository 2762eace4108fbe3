package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// config mirrors km-api's environment: the DJANGO_DB_* connection of the app role, and
// for `migrate` the admin role and the first admin user.
type config struct {
	DBHost, DBPort, DBName, DBUser, DBPassword string
	AdminDBUser, AdminDBPassword               string
	AdminEmail, AdminPassword                  string
	MigrationsDir                              string
	ListenAddr                                 string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		DBHost:          getenv("DJANGO_DB_HOST"),
		DBPort:          getenv("DJANGO_DB_PORT"),
		DBName:          getenv("DJANGO_DB_NAME"),
		DBUser:          getenv("DJANGO_DB_USER"),
		DBPassword:      getenv("DJANGO_DB_PASSWORD"),
		AdminDBUser:     getenv("DATABASE_ADMIN_USER"),
		AdminDBPassword: getenv("DATABASE_ADMIN_PASSWORD"),
		AdminEmail:      getenv("ADMIN_EMAIL"),
		AdminPassword:   getenv("ADMIN_PASSWORD"),
		MigrationsDir:   getenv("MIGRATIONS_DIR"),
	}
	if c.DBPort == "" {
		c.DBPort = "5432"
	}
	port := getenv("PORT") // the local emulation runs several tasks on one host
	if port == "" {
		port = "8000"
	}
	c.ListenAddr = net.JoinHostPort("0.0.0.0", port)
	if c.MigrationsDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return c, err
		}
		c.MigrationsDir = filepath.Join(filepath.Dir(exe), "migrations")
	}
	var missing []string
	for name, v := range map[string]string{"DJANGO_DB_HOST": c.DBHost, "DJANGO_DB_NAME": c.DBName, "DJANGO_DB_USER": c.DBUser, "DJANGO_DB_PASSWORD": c.DBPassword} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		return c, fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

func (c config) requireMigrateSettings() error {
	var missing []string
	for _, kv := range [][2]string{{"DATABASE_ADMIN_USER", c.AdminDBUser}, {"DATABASE_ADMIN_PASSWORD", c.AdminDBPassword}, {"ADMIN_EMAIL", c.AdminEmail}, {"ADMIN_PASSWORD", c.AdminPassword}} {
		if kv[1] == "" {
			missing = append(missing, kv[0])
		}
	}
	if len(missing) > 0 {
		return errors.New("migrate needs environment variables: " + strings.Join(missing, ", "))
	}
	return nil
}

func (c config) url(user, password string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(c.DBHost, c.DBPort), Path: "/" + c.DBName, RawQuery: "sslmode=disable&connect_timeout=10"}
	return u.String()
}
