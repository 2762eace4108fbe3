package codedeploy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/knowmetools/km-release/internal/appspec"
)

// Lifecycle events CodeDeploy runs itself between the hookable ones of package appspec.
const (
	evInstall          = "Install"
	evAllowTestTraffic = "AllowTestTraffic"
	evAllowTraffic     = "AllowTraffic"
)

// ecsEvents are all lifecycle events of an ECS blue/green deployment, in the order
// CodeDeploy runs them.
var ecsEvents = []string{
	appspec.BeforeInstall, evInstall, appspec.AfterInstall, evAllowTestTraffic, appspec.AfterAllowTestTraffic,
	appspec.BeforeAllowTraffic, evAllowTraffic, appspec.AfterAllowTraffic,
}

// Deployment, target and lifecycle event statuses (AWS's spelling).
const (
	stCreated    = "Created"
	stInProgress = "InProgress"
	stReady      = "Ready"
	stSucceeded  = "Succeeded"
	stFailed     = "Failed"
	stStopped    = "Stopped"
	stPending    = "Pending"
	stSkipped    = "Skipped"
)

type application struct {
	info      applicationInfo
	revisions []*revisionRecord
}

type revisionRecord struct {
	loc         revisionLocation
	key         string
	description string
	groups      []string
	registered  time.Time
	firstUsed   time.Time
	lastUsed    time.Time
}

type deployment struct {
	info   deploymentInfo
	target ecsTarget
	group  deploymentGroupInfo // snapshot taken at creation
	spec   *appspec.AppSpec
	// triggeredBy is the deployment a rollback deployment undoes.
	triggeredBy *deployment

	ctx    context.Context
	cancel context.CancelFunc
	// stop is set by StopDeployment before cancel.
	stop *stopRequest
	// waiting is the ContinueDeployment wait type the deployment waits for, if any.
	waiting string
	wake    chan struct{}

	traffic traffic
}

// props are the replacement task set's properties; revisionSpec let through only
// specs with a target service.
func (d *deployment) props() *appspec.Properties {
	return &d.spec.Target().Properties
}

type stopRequest struct {
	rollback bool
}

type hookExec struct {
	id           string
	deploymentID string
	event        string
	function     string
	done         chan string
	completed    bool
}

type state struct {
	apps        map[string]*application
	groups      map[string]*deploymentGroupInfo  // by groupKey
	configs     map[string]*deploymentConfigInfo // user-created ones
	deployments map[string]*deployment
	order       []*deployment // creation order
	hooks       map[string]*hookExec
	tags        map[string]map[string]string // by ARN
}

func newState() *state {
	return &state{
		apps:        map[string]*application{},
		groups:      map[string]*deploymentGroupInfo{},
		configs:     map[string]*deploymentConfigInfo{},
		deployments: map[string]*deployment{},
		hooks:       map[string]*hookExec{},
		tags:        map[string]map[string]string{},
	}
}

func groupKey(app, group string) string { return app + "\x00" + group }

// activeLocked returns the group's deployment that is not finished, if any.
func (st *state) activeLocked(app, group string) *deployment {
	for _, d := range st.order {
		if d.info.ApplicationName == app && d.info.DeploymentGroupName == group && !finished(d.info.Status) {
			return d
		}
	}
	return nil
}

func finished(status string) bool {
	return status == stSucceeded || status == stFailed || status == stStopped
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newDeploymentID returns an ID of AWS's shape: "d-" and nine characters.
func newDeploymentID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return "d-" + string(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// newExecutionID returns an opaque hook execution ID, like AWS's long base64 tokens.
func newExecutionID() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// operations maps an X-Amz-Target operation name to its handler.
var operations = map[string]func(*Server, []byte) (any, *APIError){}

// handle registers an operation whose input decodes into In. Operations only read and
// change the in-memory state, so each runs under s.mu; the lifecycle runner makes the
// slow backend calls outside it.
func handle[In any](name string, f func(s *Server, in *In) (any, *APIError)) {
	operations[name] = func(s *Server, body []byte) (any, *APIError) {
		in := new(In)
		if err := json.Unmarshal(body, in); err != nil {
			return nil, errf(http.StatusBadRequest, "SerializationException", "cannot decode %s input: %v", name, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return f(s, in)
	}
}

func (s *Server) arn(kind, name string) string {
	return fmt.Sprintf("arn:aws:codedeploy:%s:%s:%s:%s", s.cfg.Region, s.cfg.AccountID, kind, name)
}
