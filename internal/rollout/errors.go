package rollout

import (
	"fmt"
	"strings"
	"time"

	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// ConfigError is bad input or configuration: the user must change something before
// trying again (the command exits 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ActiveDeploymentError refuses a rollout while another deployment is active.
type ActiveDeploymentError struct {
	ID     string
	Status cdtypes.DeploymentStatus
	Group  string
}

func (e *ActiveDeploymentError) Error() string {
	id := e.ID
	if id == "" {
		id = "(unknown id)"
	}
	return fmt.Sprintf("deployment %s is already active for deployment group %s (status %s): follow it with `kmdeploy wait %s`, stop it with `kmdeploy rollback`, or pass --wait-for-active to queue behind it",
		id, e.Group, orUnknown(string(e.Status)), e.ID)
}

// DetachedError means the wait stopped (Ctrl-C or cancellation) while the deployment
// keeps running in AWS.
type DetachedError struct {
	ID  string
	Err error
}

func (e *DetachedError) Error() string {
	return fmt.Sprintf("stopped waiting; deployment %s continues in AWS: reattach with `kmdeploy wait %s`", e.ID, e.ID)
}
func (e *DetachedError) Unwrap() error { return e.Err }

// TimeoutError means the configured wait timeout expired; the deployment keeps running.
type TimeoutError struct {
	ID      string
	Timeout time.Duration
	Status  cdtypes.DeploymentStatus
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("deployment %s still %s after the %s timeout (KM_ROLLOUT_TIMEOUT / --timeout); it continues in AWS: keep waiting with `kmdeploy wait %s` or stop it with `kmdeploy rollback`",
		e.ID, orUnknown(string(e.Status)), e.Timeout, e.ID)
}

// DeploymentFailedError is a deployment that ended Failed or Stopped, with why.
type DeploymentFailedError struct {
	ID        string
	Status    cdtypes.DeploymentStatus
	Diagnosis *Diagnosis
}

func (e *DeploymentFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deployment %s %s", e.ID, strings.ToLower(string(e.Status)))
	if e.Diagnosis != nil {
		if s := e.Diagnosis.Summary(); s != "" {
			b.WriteString(": ")
			b.WriteString(s)
		}
	}
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
