package taskrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/knowmetools/km-release/testrig/awsemu/codedeploy"
	"github.com/knowmetools/km-release/testrig/freeport"
)

// ServicesOptions configure Services. The zero value is ready to use.
type ServicesOptions struct {
	// HealthPath is the target group's health check path; default "/status/".
	HealthPath string
	// HealthTimeout bounds how long a replacement task may take to answer 200; default
	// 60s. A replacement that is not healthy by then fails the deployment's Install.
	HealthTimeout time.Duration
	// HealthInterval is the pause between health checks; default 200ms.
	HealthInterval time.Duration
	// ReconcileInterval is how often task sets are compared with running tasks, so the
	// tasks of a deleted task set are stopped; default 250ms.
	ReconcileInterval time.Duration
	// Logf receives one line per notable event; nil discards.
	Logf func(format string, args ...any)
}

// Services runs the service tasks of the CodeDeploy emulation: Install (wire it as
// awsemu.Options.Install) starts a replacement task set's tasks through the emulation's
// RunTask, each with its own PORT, registers it as target TargetIP(PORT):PORT in the
// replacement target group and waits for the health check to pass. A background loop
// stops the tasks of task sets CodeDeploy deleted (the original after a success, the
// replacement after a rollback) and deregisters their targets.
type Services struct {
	opts ServicesOptions

	mu       sync.Mutex
	ecs      *ecs.Client // set by Connect
	elb      *elbv2.Client
	sets     map[string]*taskSet // by task set ARN
	loopStop context.CancelFunc
	loopDone chan struct{}
	http     *http.Client
	ports    []int // every port handed to a task, for leak checks
}

// taskSet is what Install started for one replacement task set.
type taskSet struct {
	cluster, service, targetGroup string
	targets                       []target
	// installed is set once Install succeeded; until then Install itself cleans up.
	installed bool
}

type target struct {
	taskARN string
	port    int
}

// NewServices returns Services; call Connect once the emulator runs, Close at the end.
func NewServices(opts ServicesOptions) *Services {
	if opts.HealthPath == "" {
		opts.HealthPath = "/status/"
	}
	if opts.HealthTimeout <= 0 {
		opts.HealthTimeout = 60 * time.Second
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 200 * time.Millisecond
	}
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = 250 * time.Millisecond
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	return &Services{opts: opts, sets: map[string]*taskSet{}, http: &http.Client{Timeout: 5 * time.Second}}
}

// Connect gives Services the emulation's endpoint (emu.AWSConfig()) and starts the loop
// that stops the tasks of deleted task sets.
func (s *Services) Connect(cfg aws.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ecs != nil {
		return
	}
	// Built once: the reconcile loop runs every ReconcileInterval.
	s.ecs, s.elb = ecs.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	s.loopStop, s.loopDone = cancel, make(chan struct{})
	go s.reconcileLoop(ctx)
}

// Close stops the loop. The tasks themselves end with the emulator.
func (s *Services) Close() {
	s.mu.Lock()
	stop, done := s.loopStop, s.loopDone
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func (s *Services) clients() (*ecs.Client, *elbv2.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ecs == nil {
		return nil, nil, errors.New("taskrun: Services used before Connect")
	}
	return s.ecs, s.elb, nil
}

// Ports lists every port a service task was given, so a caller can check that none
// still listens once the emulation is closed.
func (s *Services) Ports() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.ports...)
}

// Install implements codedeploy.Config.Install.
func (s *Services) Install(ctx context.Context, r codedeploy.InstallRequest) error {
	ecsc, elbc, err := s.clients()
	if err != nil {
		return err
	}
	count := int(max(r.DesiredCount, 1))
	set := &taskSet{cluster: r.Cluster, service: r.Service, targetGroup: r.TargetGroupArn}
	s.mu.Lock()
	s.sets[r.TaskSetArn] = set
	s.mu.Unlock()
	fail := func(err error) error {
		// The deployment fails; nothing of this task set may keep running.
		s.retire(context.WithoutCancel(ctx), ecsc, elbc, r.TaskSetArn, "replacement task set did not become healthy")
		return err
	}
	for range count {
		port, err := freeport.Get()
		if err != nil {
			return fail(err)
		}
		in := &ecs.RunTaskInput{
			Cluster: aws.String(r.Cluster), TaskDefinition: aws.String(r.TaskDefinition),
			Group:     aws.String("service:" + r.Service),
			StartedBy: aws.String(taskSetID(r.TaskSetArn)),
			Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
				Name:        aws.String(r.ContainerName),
				Environment: []ecstypes.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String(strconv.Itoa(port))}},
			}}},
		}
		if r.LaunchType != "" {
			in.LaunchType = ecstypes.LaunchType(r.LaunchType)
		}
		if len(r.Subnets) > 0 {
			in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
				Subnets: r.Subnets, SecurityGroups: r.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIp(r.AssignPublicIP),
			}}
		}
		out, err := ecsc.RunTask(ctx, in)
		if err != nil {
			return fail(fmt.Errorf("run a replacement task of %s: %w", r.TaskDefinition, err))
		}
		if len(out.Tasks) != 1 {
			return fail(fmt.Errorf("run a replacement task of %s: no task started (%d failures)", r.TaskDefinition, len(out.Failures)))
		}
		t := target{taskARN: aws.ToString(out.Tasks[0].TaskArn), port: port}
		s.mu.Lock()
		set.targets = append(set.targets, t)
		s.ports = append(s.ports, port)
		s.mu.Unlock()
		if _, err := elbc.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
			TargetGroupArn: aws.String(r.TargetGroupArn),
			Targets:        []elbtypes.TargetDescription{{Id: aws.String(TargetIP(port)), Port: aws.Int32(int32(port))}},
		}); err != nil {
			return fail(fmt.Errorf("register %s:%d in target group %s: %w", TargetIP(port), port, r.TargetGroupArn, err))
		}
		s.opts.Logf("taskrun: replacement task %s of %s on %s:%d", shortID(t.taskARN), r.Service, TargetIP(port), port)
	}
	s.mu.Lock()
	targets := append([]target(nil), set.targets...)
	s.mu.Unlock()
	for _, t := range targets {
		if err := s.waitHealthy(ctx, ecsc, r.Cluster, t); err != nil {
			return fail(err)
		}
	}
	s.mu.Lock()
	set.installed = true
	s.mu.Unlock()
	return nil
}

// waitHealthy polls the health check of one target until it answers 200, its task
// stops, or HealthTimeout passes.
func (s *Services) waitHealthy(ctx context.Context, ecsc *ecs.Client, cluster string, t target) error {
	url := fmt.Sprintf("http://127.0.0.1:%d%s", t.port, s.opts.HealthPath)
	deadline := time.Now().Add(s.opts.HealthTimeout)
	last := "no answer yet"
	for {
		if code, body, err := s.check(ctx, url); err != nil {
			last = err.Error()
		} else if code == http.StatusOK {
			s.opts.Logf("taskrun: task %s healthy: GET %s answered 200", shortID(t.taskARN), url)
			return nil
		} else {
			last = fmt.Sprintf("HTTP %d %s", code, body)
		}
		out, err := ecsc.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{t.taskARN}})
		if err == nil && len(out.Tasks) == 1 && aws.ToString(out.Tasks[0].LastStatus) == "STOPPED" {
			task := out.Tasks[0]
			var exits []string
			for _, c := range task.Containers {
				if c.ExitCode != nil {
					exits = append(exits, fmt.Sprintf("%s exit code %d", aws.ToString(c.Name), *c.ExitCode))
				}
			}
			return fmt.Errorf("replacement task %s stopped before it turned healthy (%s; %s)", t.taskARN, aws.ToString(task.StoppedReason), strings.Join(exits, ", "))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replacement task %s never turned healthy within %s: last health check of %s: %s", t.taskARN, s.opts.HealthTimeout, url, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.opts.HealthInterval):
		}
	}
}

func (s *Services) check(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// reconcileLoop stops the tasks of task sets that no longer exist in their service.
func (s *Services) reconcileLoop(ctx context.Context) {
	defer close(s.loopDone)
	t := time.NewTicker(s.opts.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.reconcile(ctx)
	}
}

func (s *Services) reconcile(ctx context.Context) {
	ecsc, elbc, err := s.clients()
	if err != nil {
		return
	}
	s.mu.Lock()
	byService := map[[2]string][]string{}
	for arn, set := range s.sets {
		if !set.installed {
			continue
		}
		k := [2]string{set.cluster, set.service}
		byService[k] = append(byService[k], arn)
	}
	s.mu.Unlock()
	for k, arns := range byService {
		out, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(k[0]), Services: []string{k[1]}})
		if err != nil {
			continue // try again next round
		}
		// A deleted or missing service has no task sets left.
		live := map[string]bool{}
		for _, svc := range out.Services {
			if aws.ToString(svc.Status) == "INACTIVE" {
				continue
			}
			for _, ts := range svc.TaskSets {
				live[aws.ToString(ts.TaskSetArn)] = true
			}
		}
		for _, arn := range arns {
			if !live[arn] {
				s.retire(ctx, ecsc, elbc, arn, "task set "+taskSetID(arn)+" was deleted by the deployment")
			}
		}
	}
}

// retire stops a task set's tasks and deregisters their targets, once.
func (s *Services) retire(ctx context.Context, ecsc *ecs.Client, elbc *elbv2.Client, arn, reason string) {
	s.mu.Lock()
	set := s.sets[arn]
	delete(s.sets, arn)
	s.mu.Unlock()
	if set == nil {
		return
	}
	for _, t := range set.targets {
		if _, err := elbc.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
			TargetGroupArn: aws.String(set.targetGroup),
			Targets:        []elbtypes.TargetDescription{{Id: aws.String(TargetIP(t.port)), Port: aws.Int32(int32(t.port))}},
		}); err != nil {
			s.opts.Logf("taskrun: deregister %s:%d: %v", TargetIP(t.port), t.port, err)
		}
		if _, err := ecsc.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(set.cluster), Task: aws.String(t.taskARN), Reason: aws.String(reason)}); err != nil {
			s.opts.Logf("taskrun: stop task %s: %v", t.taskARN, err)
		}
		s.opts.Logf("taskrun: stopped task %s of %s: %s", shortID(t.taskARN), set.service, reason)
	}
}

func taskSetID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// TargetIP is the loopback address a task on port is registered under. Tasks listen on
// every address, so any 127.0.0.0/8 address reaches them; a distinct one per task
// matters because moto keeps one target per Id in a target group, so two tasks both
// registered as 127.0.0.1 would replace each other.
func TargetIP(port int) string {
	return fmt.Sprintf("127.0.%d.%d", port>>8, port&0xff)
}
