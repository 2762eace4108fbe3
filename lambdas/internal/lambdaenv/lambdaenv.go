// Package lambdaenv holds what the project's task-running Lambdas share: the task
// configuration read from the function's environment, the wait budget taken from the
// invocation deadline, and the log format.
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/knowmetools/km-release/internal/accessdenied"

	"github.com/sethvargo/go-envconfig"

	"github.com/knowmetools/km-release/internal/ecstask"
)

// Task is where and how a Lambda runs its one-off ECS task. Infra sets these variables.
type Task struct {
	Cluster        string   `env:"CLUSTER,required"`
	Subnets        []string `env:"SUBNETS,required"`
	SecurityGroups []string `env:"SECURITY_GROUPS"`
	ContainerName  string   `env:"CONTAINER_NAME,required"`
	AssignPublicIP bool     `env:"ASSIGN_PUBLIC_IP,default=false"`
	// DeadlineMargin is kept back from the invocation deadline to read the task's last
	// log lines and report the outcome before the Lambda is killed.
	DeadlineMargin time.Duration `env:"DEADLINE_MARGIN,default=20s"`
	// Poll is the first delay between task status checks; it backs off to 15s.
	Poll time.Duration `env:"POLL_INTERVAL,default=2s"`
	// LogLines is how many of the task's last log lines a failure reports.
	LogLines int `env:"LOG_TAIL_LINES,default=30"`
}

// ConfigError is a function configuration that cannot work.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string {
	return "Lambda configuration: " + e.Err.Error() + " (fix the function's environment variables)"
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Load reads target (a pointer to a struct embedding Task) from the environment.
func Load(ctx context.Context, l envconfig.Lookuper, target interface{ Check() error }) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: target, Lookuper: l}); err != nil {
		return &ConfigError{Err: nameVariables(err, target)}
	}
	if err := target.Check(); err != nil {
		return &ConfigError{Err: err}
	}
	return nil
}

// Check rejects values envconfig accepts but that cannot run a task.
func (t *Task) Check() error {
	t.Subnets = clean(t.Subnets)
	t.SecurityGroups = clean(t.SecurityGroups)
	var errs []error
	if strings.TrimSpace(t.Cluster) == "" {
		errs = append(errs, errors.New("CLUSTER is empty"))
	}
	if strings.TrimSpace(t.ContainerName) == "" {
		errs = append(errs, errors.New("CONTAINER_NAME is empty"))
	}
	if len(t.Subnets) == 0 {
		errs = append(errs, errors.New("SUBNETS is empty: give a comma-separated list of subnet IDs"))
	}
	if t.DeadlineMargin <= 0 {
		errs = append(errs, errors.New("DEADLINE_MARGIN must be positive"))
	}
	if t.Poll <= 0 {
		errs = append(errs, errors.New("POLL_INTERVAL must be positive"))
	}
	if t.LogLines < 0 {
		errs = append(errs, errors.New("LOG_TAIL_LINES must not be negative"))
	}
	return errors.Join(errs...)
}

// nameVariables adds the environment variable to envconfig's errors, which name only
// the Go field ("Task: AssignPublicIP: ..."), so users see what to set.
func nameVariables(err error, target any) error {
	vars := map[string]string{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if tag := f.Tag.Get("env"); tag != "" {
				vars[f.Name] = strings.Split(tag, ",")[0]
			} else {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(target))
	for _, p := range strings.Split(err.Error(), ": ") {
		if v, ok := vars[p]; ok {
			return fmt.Errorf("environment variable %s: %w", v, err)
		}
	}
	return err
}

func clean(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Command splits a command setting (e.g. "migrate") into the container's argv.
func Command(name, value string) ([]string, error) {
	f := strings.Fields(value)
	if len(f) == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	return f, nil
}

// RunInput is the one-off task on taskDefinition with command: the command is the only
// override, so secrets keep coming from the task definition's secrets.
func (t *Task) RunInput(taskDefinition string, command []string, startedBy, group, clientToken string) ecstask.RunInput {
	return ecstask.RunInput{
		Cluster:        t.Cluster,
		TaskDefinition: taskDefinition,
		ContainerName:  t.ContainerName,
		Command:        command,
		Subnets:        t.Subnets,
		SecurityGroups: t.SecurityGroups,
		AssignPublicIP: t.AssignPublicIP,
		StartedBy:      startedBy,
		Group:          group,
		ClientToken:    clientToken,
	}
}

// NoDeadlineBudget bounds waits when the invocation has no deadline (outside Lambda);
// Lambda's own maximum is 15 minutes.
const NoDeadlineBudget = 15 * time.Minute

// WaitContext is ctx ending DeadlineMargin before the invocation's deadline, so there is
// time left to report after a wait runs out.
func (t *Task) WaitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, d.Add(-t.DeadlineMargin))
	}
	return context.WithTimeout(ctx, NoDeadlineBudget)
}

// Progress logs each task status change, and a heartbeat every 30s while the status
// stays the same, so a long migration visibly lives.
func Progress(log *slog.Logger) func(ecstask.Status) {
	last, logged := "", time.Time{}
	return func(s ecstask.Status) {
		if s.LastStatus == last && time.Since(logged) < 30*time.Second {
			return
		}
		last, logged = s.LastStatus, time.Now()
		log.Info("task status", "task", s.TaskArn, "status", s.LastStatus, "desired", s.DesiredStatus, "elapsed", s.Elapsed.Round(time.Second).String())
	}
}

// Logger writes JSON lines, which CloudWatch Logs Insights reads field by field.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}

// Describe is err for a log line: an AWS access denial as the one line that names the
// role, the action, the resource and where infra/ grants it; anything else as is.
func Describe(err error) string {
	if line, ok := accessdenied.Explain(err); ok {
		return line
	}
	return err.Error()
}
