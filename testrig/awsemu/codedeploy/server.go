package codedeploy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TargetPrefix is the X-Amz-Target prefix of CodeDeploy's JSON 1.1 protocol; the
// emulation's front router sends requests carrying it to this package's Server.
const TargetPrefix = "CodeDeploy_20141006."

// Config configures the emulated CodeDeploy service.
type Config struct {
	// Backend reaches moto directly: ECS DescribeServices/UpdateService/task sets,
	// ELBv2 listeners and DescribeTaskDefinition.
	Backend aws.Config
	// Front is the emulation's front endpoint, so Lambda Invoke runs the product's
	// in-process handlers.
	Front aws.Config
	// AccountID appears in ARNs; default "123456789012".
	AccountID string
	// Region appears in ARNs; default Backend.Region, else "us-east-1".
	Region string
	// HookTimeout is how long a lifecycle hook may take to report its status
	// (AWS: 1 hour); default 1h.
	HookTimeout time.Duration
	// StepDelay is the pause between lifecycle steps; default 20ms.
	StepDelay time.Duration
	// Minute is how long one of the deployment group's "minutes" lasts in the emulation:
	// ready wait, termination wait and canary/linear traffic intervals. Default 1s, so a
	// group configured for real AWS does not stall tests.
	Minute time.Duration
	// Install, when set, starts the replacement tasks and waits until they are healthy.
	// nil means there is nothing to wait for.
	Install func(ctx context.Context, r InstallRequest) error
	// Logf receives one line per lifecycle step; nil discards.
	Logf func(format string, args ...any)
	// RoleConfig, when set, is Front with the credentials of a deployment group's
	// service role: CodeDeploy invokes the hooks as that role.
	RoleConfig func(ctx context.Context, roleARN string) (aws.Config, error)
	// Authorize, when set, says whether the service role may do what CodeDeploy does
	// on its behalf in ECS and ELB (action, resource ARNs; iam:PassRole is of roles
	// passed to ECS tasks); a denial fails the deployment with IAM_ROLE_PERMISSIONS,
	// as in AWS.
	Authorize func(ctx context.Context, roleARN, action string, resources ...string) error
}

// InstallRequest describes the replacement task set the Install step must bring up.
type InstallRequest struct {
	DeploymentID        string
	ApplicationName     string
	DeploymentGroupName string
	Cluster             string
	Service             string
	TaskDefinition      string // ARN of the AppSpec's task definition
	TaskSetArn          string // the replacement task set created in the backend
	ContainerName       string
	ContainerPort       int32
	PlatformVersion     string
	LaunchType          string
	TargetGroupArn      string // the replacement target group the new tasks register in
	DesiredCount        int32
	Subnets             []string
	SecurityGroups      []string
	AssignPublicIP      string
}

// Server is the CodeDeploy emulation: an http.Handler for CodeDeploy's JSON 1.1
// protocol plus failure injection. Safe for concurrent use.
type Server struct {
	cfg Config
	aws clients

	mu     sync.Mutex
	state  *state
	faults faults
	// runCtx is cancelled by Reset and Close so running deployments stop.
	runCtx    context.Context
	runCancel context.CancelFunc
	wg        sync.WaitGroup
}

// New returns a Server with defaults applied to cfg.
func New(cfg Config) *Server {
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.Region == "" {
		cfg.Region = cfg.Backend.Region
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = time.Hour
	}
	if cfg.StepDelay <= 0 {
		cfg.StepDelay = 20 * time.Millisecond
	}
	if cfg.Minute <= 0 {
		cfg.Minute = time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, aws: newClients(cfg)}
	s.resetLocked()
	return s
}

// Reset forgets every application, deployment group, deployment and injected fault,
// and stops deployments in flight.
func (s *Server) Reset() {
	s.mu.Lock()
	s.runCancel()
	s.mu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

// Close stops deployments in flight and waits for them to end.
func (s *Server) Close() {
	s.mu.Lock()
	s.runCancel()
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) resetLocked() {
	s.state = newState()
	s.faults = faults{}
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
}

// SetHookTimeout changes how long later hooks may take to report their status.
func (s *Server) SetHookTimeout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.HookTimeout = d
}

// ServeHTTP serves one CodeDeploy JSON 1.1 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	if !ok || r.Method != http.MethodPost {
		writeErr(w, errf(http.StatusBadRequest, "UnknownOperationException", "expected POST with X-Amz-Target %s<Operation>", TargetPrefix))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeErr(w, errf(http.StatusBadRequest, "SerializationException", "read request: %v", err))
		return
	}
	h, ok := operations[op]
	if !ok {
		writeErr(w, errf(http.StatusBadRequest, "UnknownOperationException", "operation %s is not supported by the CodeDeploy emulation", op))
		return
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	out, apiErr := h(s, body)
	if apiErr != nil {
		writeErr(w, apiErr)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}
