package awsemu

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
)

// Fixed identity of the emulation: moto accepts any credentials and files resources
// under its default account.
const (
	DefaultRegion   = "us-east-1"
	AccountID       = "123456789012"
	AccessKeyID     = "AKIAEMULATIONTESTKEY"
	SecretAccessKey = "emulation-test-secret"
)

// Options configures Start. The zero value is ready to use.
type Options struct {
	// Python is the interpreter that runs moto; default "python3".
	Python string
	// StartTimeout bounds moto's start; default 60s.
	StartTimeout time.Duration
	// TaskRunner decides what an ECS task does while RUNNING; default SimulatedRunner.
	TaskRunner TaskRunner
	// TaskStepDelay is how long a task stays in PROVISIONING and in PENDING; default 20ms.
	TaskStepDelay time.Duration
	// HookTimeout is how long a CodeDeploy lifecycle hook may take to report; default 1h
	// like AWS (tests set it short to exercise timeouts).
	HookTimeout time.Duration
	// DeploymentStepDelay is the pause between CodeDeploy lifecycle steps; default 20ms.
	DeploymentStepDelay time.Duration
	// DeploymentMinute is how long one "minute" of a deployment group's settings (ready
	// wait, termination wait, canary/linear intervals) lasts; default 1s.
	DeploymentMinute time.Duration
	// LambdaRetryMinute is how long one "minute" between Lambda's retries of a failed
	// asynchronous invocation lasts; default 1s.
	LambdaRetryMinute time.Duration
	// Install, when set, brings up the replacement tasks of a blue/green deployment and
	// waits until they are healthy; nil means there is nothing to wait for.
	Install func(ctx context.Context, r codedeploy.InstallRequest) error
	// Postgres gives each RDS instance of engine postgres a real PostgreSQL server
	// (package pglocal: initdb and postgres must be on PATH), with the master user and
	// initial database of CreateDBInstance; the instance's endpoint leads to it.
	// Without it, RDS instances are moto's bookkeeping only.
	Postgres bool
	// ListenHost is the address the endpoint (AWS_ENDPOINT_URL) and the registry listen
	// on; default 127.0.0.1. Another address (e.g. the host's end of a container
	// network) lets containers reach the emulation; repository URIs name it too.
	ListenHost string
	// RegistryPort is the registry's port; default a free one. A fixed port lets a
	// container engine be told beforehand that the registry speaks plain http.
	RegistryPort int
	// Logf receives one line per notable emulation event (task state changes, deployment
	// steps); nil discards.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 60 * time.Second
	}
	if o.TaskRunner == nil {
		o.TaskRunner = SimulatedRunner{}
	}
	if o.TaskStepDelay <= 0 {
		o.TaskStepDelay = 20 * time.Millisecond
	}
	if o.LambdaRetryMinute <= 0 {
		o.LambdaRetryMinute = time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.ListenHost == "" {
		o.ListenHost = "127.0.0.1"
	}
}

// Emulator is a running emulation. All methods are safe for concurrent use.
type Emulator struct {
	opts    Options
	moto    *motoServer
	motoURL *url.URL
	backend aws.Config // straight to moto, for the Go parts' own reads and writes
	// http is shared by the proxy and every SDK client built from backend or
	// AWSConfig(): the SDK otherwise gives each client its own transport, and the
	// emulation builds clients per request.
	http *http.Client

	frontLn  net.Listener
	front    *http.Server
	regLn    net.Listener
	regSrv   *http.Server
	registry *ociRegistry
	proxy    *httputil.ReverseProxy

	faults     *Faults
	authz      *authorizer
	tasks      *taskService
	lambdas    *lambdaService
	cd         *codedeploy.Server
	cloudFront *cloudFront
	pg         *rdsPostgres // nil unless Options.Postgres
	// dbIDs maps the DbiResourceIds the emulation hands out to their instances.
	dbIDsMu sync.Mutex
	dbIDs   map[string]string

	// ctx lives as long as the emulator; background work (tasks, async invokes) uses it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
}

// Start runs moto on a free loopback port and the Go front end on free ports of
// Options.ListenHost. ctx bounds the start
// only; Close stops everything.
func Start(ctx context.Context, opts Options) (*Emulator, error) {
	opts.defaults()
	began := time.Now()
	m, err := startMoto(ctx, opts.Python, opts.StartTimeout)
	if err != nil {
		return nil, err
	}
	opts.Logf("awsemu: moto ready at %s after %s", m.url(), time.Since(began).Round(time.Millisecond))
	e := &Emulator{opts: opts, moto: m, faults: newFaults(), dbIDs: map[string]string{}}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.motoURL, _ = url.Parse(m.url())
	// Clients upload in parallel; the default two idle connections per host would make
	// the proxy reconnect to moto for most requests.
	e.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
	e.backend = e.staticConfig(m.url())
	e.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(e.motoURL)
			pr.Out.Host = pr.In.Host // moto reads S3 bucket names from path or host
		},
		ModifyResponse: e.fixResponse,
		ErrorHandler:   e.proxyError,
		Transport:      e.http.Transport,
	}

	if err := e.listen(); err != nil {
		e.Close()
		return nil, err
	}
	e.authz = newAuthorizer(e)
	e.tasks = newTaskService(e)
	e.lambdas = newLambdaService(e)
	e.cd = newCodeDeploy(e)
	e.cloudFront = newCloudFront()
	if opts.Postgres {
		e.pg = newRDSPostgres(opts.Logf)
	}
	return e, nil
}

func (e *Emulator) listen() error {
	var err error
	host := e.opts.ListenHost
	if e.frontLn, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
		return fmt.Errorf("listen for the emulation endpoint on %s: %w", host, err)
	}
	if e.regLn, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(e.opts.RegistryPort))); err != nil {
		return fmt.Errorf("listen for the registry on %s port %d: %w", host, e.opts.RegistryPort, err)
	}
	e.registry = newOCIRegistry(e)
	e.front = &http.Server{Handler: http.HandlerFunc(e.serveFront), ReadHeaderTimeout: 30 * time.Second}
	e.regSrv = &http.Server{Handler: e.registry, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = e.front.Serve(e.frontLn) }()
	go func() { _ = e.regSrv.Serve(e.regLn) }()
	return nil
}

// Endpoint is the URL for AWS_ENDPOINT_URL, e.g. "http://127.0.0.1:43121".
func (e *Emulator) Endpoint() string { return "http://" + e.frontLn.Addr().String() }

// Region is the emulation's region.
func (e *Emulator) Region() string { return DefaultRegion }

// RegistryHost is the host:port of the OCI registry behind ECR.
func (e *Emulator) RegistryHost() string { return e.regLn.Addr().String() }

// MotoURL is moto's own address, bypassing the Go front end (for diagnostics only).
func (e *Emulator) MotoURL() string { return e.moto.url() }

// AWSConfig returns a config for SDK clients: region, static credentials and the
// emulation endpoint. S3 clients additionally need UsePathStyle.
func (e *Emulator) AWSConfig() aws.Config { return e.staticConfig(e.Endpoint()) }

// Env returns the environment (KEY=VALUE) that makes an SDK-based process, e.g. one
// using config.LoadDefaultConfig, talk to the emulation.
func (e *Emulator) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + e.Endpoint(),
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + DefaultRegion,
		"AWS_DEFAULT_REGION=" + DefaultRegion,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// Faults is the failure injection API.
func (e *Emulator) Faults() *Faults { return e.faults }

// Reset empties moto (its reset API) and the emulation's own state: tasks, faults,
// CodeDeploy, registry contents. Registered Lambda factories are kept.
func (e *Emulator) Reset(ctx context.Context) error {
	e.faults.reset()
	e.authz.reset()
	e.tasks.reset()
	e.cd.Reset()
	e.cloudFront.reset()
	if e.pg != nil {
		e.pg.closeAll()
	}
	e.registry.reset()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.moto.url()+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Close stops the front end, background work and moto, and waits for them.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		e.cancel()
		if e.cd != nil {
			e.cd.Close()
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e.front != nil {
			_ = e.front.Shutdown(shutdownCtx)
			_ = e.regSrv.Shutdown(shutdownCtx)
		} else {
			if e.frontLn != nil {
				e.frontLn.Close()
			}
			if e.regLn != nil {
				e.regLn.Close()
			}
		}
		e.wg.Wait()
		if e.pg != nil {
			e.pg.closeAll()
		}
		e.moto.stop()
		e.http.CloseIdleConnections()
	})
	return nil
}

// goBackground runs f on the emulator's lifetime context, tracked for Close.
func (e *Emulator) goBackground(f func(ctx context.Context)) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f(e.ctx)
	}()
}

func (e *Emulator) staticConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       DefaultRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   e.http,
	}
}

// proxyError answers a request moto could not serve with the reason, including moto's
// last output when it has died.
func (e *Emulator) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	msg := fmt.Sprintf("the emulation could not reach moto: %v", err)
	select {
	case <-e.moto.done:
		msg += fmt.Sprintf("; moto exited (%v), last output:\n%s", e.moto.err, lastLines(e.moto.out.String(), 10))
	default:
	}
	e.opts.Logf("awsemu: %s %s: %s", r.Method, r.URL.Path, msg)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = io.WriteString(w, msg)
}
