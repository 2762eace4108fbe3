package awsemu

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/pglocal"
)

// rdsPostgres gives each RDS instance of engine postgres a real PostgreSQL server
// (Options.Postgres): moto keeps the instance's bookkeeping, the server is the
// database its endpoint leads to.
type rdsPostgres struct {
	logf func(format string, args ...any)

	mu        sync.Mutex
	instances map[string]*pgInstance // by DBInstanceIdentifier
}

type pgInstance struct {
	*pglocal.Server
	master string // the master user's role
}

func newRDSPostgres(logf func(string, ...any)) *rdsPostgres {
	return &rdsPostgres{logf: logf, instances: map[string]*pgInstance{}}
}

// route starts the server of a CreateDBInstance before moto sees it, changes the
// master password on ModifyDBInstance, and makes every answer describing instances
// report their servers' endpoints. done means the request was answered here (an
// error).
func (p *rdsPostgres) route(w http.ResponseWriter, r *http.Request, op string) (_ *http.Request, done bool) {
	form, _ := url.ParseQuery(string(readBody(r)))
	id := strings.ToLower(form.Get("DBInstanceIdentifier")) // RDS identifiers are case-insensitive
	switch op {
	case "CreateDBInstance":
		if form.Get("Engine") != "postgres" {
			break
		}
		inst, err := startPostgres(r.Context(), form)
		if err != nil {
			p.logf("awsemu: CreateDBInstance %s: %v", id, err)
			writeQueryError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
			return nil, true
		}
		return withFix(r, func(resp *http.Response) error {
			if resp.StatusCode != http.StatusOK { // e.g. a duplicate identifier
				inst.Close()
				return nil
			}
			p.mu.Lock()
			p.instances[id] = inst
			p.mu.Unlock()
			p.logf("awsemu: RDS instance %s: PostgreSQL on %s:%d", id, inst.Host, inst.Port)
			return p.fixEndpoints(resp)
		}), false
	case "ModifyDBInstance":
		p.mu.Lock()
		inst := p.instances[id]
		p.mu.Unlock()
		if inst == nil {
			break
		}
		// RDS changes the master password at once, whatever ApplyImmediately says.
		if pw := form.Get("MasterUserPassword"); pw != "" {
			if err := inst.exec(r.Context(), "ALTER ROLE "+pgx.Identifier{inst.master}.Sanitize()+" PASSWORD "+scramLiteral(pw)); err != nil {
				writeQueryError(w, http.StatusInternalServerError, "InternalFailure", "change the master user's password: "+err.Error())
				return nil, true
			}
		}
		if newID := strings.ToLower(form.Get("NewDBInstanceIdentifier")); newID != "" {
			return withFix(r, func(resp *http.Response) error {
				if resp.StatusCode == http.StatusOK {
					p.mu.Lock()
					p.instances[newID] = inst
					delete(p.instances, id)
					p.mu.Unlock()
				}
				return p.fixEndpoints(resp)
			}), false
		}
	case "DeleteDBInstance":
		return withFix(r, func(resp *http.Response) error {
			if resp.StatusCode == http.StatusOK {
				p.mu.Lock()
				inst := p.instances[id]
				delete(p.instances, id)
				p.mu.Unlock()
				if inst != nil {
					inst.Close()
				}
			}
			return p.fixEndpoints(resp)
		}), false
	}
	if strings.Contains(op, "DBInstance") {
		return withFix(r, p.fixEndpoints), false
	}
	return r, false
}

// startPostgres runs a server with the instance's master user as RDS creates it: a role that
// may log in, create roles and databases, and owns the initial database (DBName). The
// bootstrap superuser is rdsadmin, the name RDS keeps for itself, so any master user
// name (postgres included) is free.
func startPostgres(ctx context.Context, form url.Values) (*pgInstance, error) {
	master, password, db := form.Get("MasterUsername"), form.Get("MasterUserPassword"), form.Get("DBName")
	if master == "" || password == "" {
		return nil, fmt.Errorf("the emulation's PostgreSQL needs MasterUsername and MasterUserPassword")
	}
	srv, err := pglocal.Start(ctx, pglocal.Options{SuperUser: "rdsadmin", SuperPassword: rand.Text()})
	if err != nil {
		return nil, err
	}
	inst := &pgInstance{Server: srv, master: master}
	role := pgx.Identifier{master}.Sanitize()
	if err := inst.exec(ctx, "CREATE ROLE "+role+" LOGIN CREATEROLE CREATEDB PASSWORD "+scramLiteral(password)); err != nil {
		srv.Close()
		return nil, fmt.Errorf("create the master user's role: %w", err)
	}
	if db != "" {
		if err := inst.exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER "+role); err != nil {
			srv.Close()
			return nil, fmt.Errorf("create database %s: %w", db, err)
		}
	}
	return inst, nil
}

// exec runs one statement as the superuser.
func (inst *pgInstance) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, inst.SuperURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// scramLiteral is the SQL literal of password's SCRAM verifier: the server never sees
// the password itself, so no statement and no server log holds it. The verifier's
// characters ([A-Za-z0-9+/=:$]) need no escaping.
func scramLiteral(password string) string { return "'" + scramVerifier(password) + "'" }

// scramVerifier is what PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802,
// 4096 iterations as PostgreSQL's default), computed here as psql's \password does.
// RDS master passwords are printable ASCII, which SASLprep leaves as it is.
func scramVerifier(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	const iterations = 4096
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	b64 := base64.StdEncoding.EncodeToString
	return "SCRAM-SHA-256$" + strconv.Itoa(iterations) + ":" + b64(salt) + "$" + b64(stored[:]) + ":" + b64(mac(salted, "Server Key"))
}

// fixEndpoints points each instance that has a server at it: Endpoint.Address
// 127.0.0.1, Endpoint.Port and DbInstancePort the server's port.
func (p *rdsPostgres) fixEndpoints(resp *http.Response) error {
	return editXML(resp, func(doc *xmlNode) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, inst := range doc.all("DBInstance") {
			srv := p.instances[strings.ToLower(inst.text("DBInstanceIdentifier"))]
			if srv == nil {
				continue
			}
			port := strconv.Itoa(srv.Port)
			inst.set("DbInstancePort", port)
			if inst.path("Endpoint") == nil {
				inst.set("Endpoint", "")
			}
			endpoint := inst.path("Endpoint")
			endpoint.set("Address", srv.Host)
			endpoint.set("Port", port)
		}
		return nil
	})
}

// closeAll stops every server.
func (p *rdsPostgres) closeAll() {
	p.mu.Lock()
	instances := p.instances
	p.instances = map[string]*pgInstance{}
	p.mu.Unlock()
	for _, inst := range instances {
		inst.Close()
	}
}

// writeQueryError answers a server-side failure in the awsQuery error shape.
func writeQueryError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("X-Amzn-RequestId", requestID)
	writeXML(w, status, "ErrorResponse", "", errorResponse{Type: "Receiver", Code: code, Message: message, RequestID: requestID})
}
