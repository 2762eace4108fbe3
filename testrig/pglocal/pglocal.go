// Package pglocal runs a throwaway PostgreSQL server from the machine's initdb and
// postgres binaries, in a temporary directory on a free 127.0.0.1 port. Tests and the local
// rehearsal use it so that migrations, backups and restores run against a real database.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/freeport"
)

// Options tune the server. The zero value is ready to use.
type Options struct {
	// SuperUser and SuperPassword are the bootstrap superuser; TCP clients must use the
	// password (scram-sha-256), as against RDS.
	SuperUser     string
	SuperPassword string
	// StartTimeout bounds initdb plus start-up; default 60s.
	StartTimeout time.Duration
}

// Server is a running PostgreSQL server.
type Server struct {
	Host          string
	Port          int
	SuperUser     string
	SuperPassword string

	dir     string
	dataDir string
	cred    *syscall.Credential
	server  *exec.Cmd
	exited  chan struct{}
}

// Start initialises a new cluster and starts it. Close stops it and removes its files.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.SuperUser == "" {
		opts.SuperUser = "postgres"
	}
	if opts.SuperPassword == "" {
		opts.SuperPassword = "local-superuser-password"
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("pglocal: %s not found on PATH: install the PostgreSQL server binaries (Debian: apt-get install postgresql) and put their bin directory on PATH", bin)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "pglocal-")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", SuperUser: opts.SuperUser, SuperPassword: opts.SuperPassword, dir: dir, dataDir: filepath.Join(dir, "data")}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	// initdb refuses to run as root, so as root the server runs as the postgres user.
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return fail(err)
		}
		s.cred = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(opts.SuperPassword+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if s.cred != nil {
		if err := os.Chown(pwFile, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fail(err)
		}
	}
	if out, err := s.command(ctx, "initdb", "-D", s.dataDir, "-U", opts.SuperUser, "--pwfile", pwFile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-instructions").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pglocal: initdb: %v: %s", err, lastLines(out, 5)))
	}
	os.Remove(pwFile)

	port, err := freeport.Get()
	if err != nil {
		return fail(err)
	}
	s.Port = port
	if err := s.startServer(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// startServer runs postgres as a direct child in its own process group with
// Pdeathsig, so a killed test binary never leaves a server behind (pg_ctl would
// detach it), and waits until it accepts connections.
func (s *Server) startServer(ctx context.Context) error {
	logFile, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("postgres", "-D", s.dataDir,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(s.Port),
		"-c", "unix_socket_directories="+s.dir, "-c", "fsync=off", "-c", "full_page_writes=off")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pglocal: start postgres: %w", err)
	}
	s.server, s.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exited) }()

	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	for {
		// The port opens before start-up ends ("the database system is starting up"):
		// ready means a real login works.
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, s.SuperURL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-s.exited:
			logTail, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			return fmt.Errorf("pglocal: postgres exited during start-up: %s", lastLines(logTail, 5))
		case <-ctx.Done():
			s.stopServer()
			return fmt.Errorf("pglocal: postgres did not accept connections on %s: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopServer asks postgres for an immediate shutdown (SIGQUIT) and kills its process
// group if it has not exited within 10 s.
func (s *Server) stopServer() {
	if s.server == nil {
		return
	}
	syscall.Kill(s.server.Process.Pid, syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-s.server.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
}

// URL is a libpq connection URL for database db as user with password.
func (s *Server) URL(db, user, password string) string {
	// Escaped, so passwords with '@', ':' or '/' (as generated ones have) still parse.
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// SuperURL connects to db as the superuser.
func (s *Server) SuperURL(db string) string { return s.URL(db, s.SuperUser, s.SuperPassword) }

// Close stops the server immediately and removes its files.
func (s *Server) Close() error {
	s.stopServer()
	return os.RemoveAll(s.dir)
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	return cmd
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("pglocal: running as root needs a 'postgres' system user to run the server as (initdb refuses root): create one with useradd --system postgres")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
