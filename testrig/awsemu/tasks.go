package awsemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/knowmetools/km-release/testrig/awsemu/iampolicy"
)

// taskService serves ECS RunTask, DescribeTasks, StopTask and ListTasks in Go
// (moto's versions fail for Fargate and answer what the SDK cannot parse), and
// guards UpdateService on CODE_DEPLOY services; clusters, task definitions and
// services stay in moto.
type taskService struct {
	e   *Emulator
	ecs *ecs.Client // to moto, for clusters, task definitions and services

	mu    sync.Mutex
	tasks map[string]*task // by task ARN
	order []string         // ARNs in start order, for stable listings
	gen   int              // bumped by reset, so goroutines of old tasks stop writing
}

type task struct {
	arn, id, clusterARN   string
	tdARN, family         string
	group, startedBy      string
	launchType, platform  string
	cpu, memory           string
	overrides             json.RawMessage
	tags                  json.RawMessage
	lastStatus            string
	desiredStatus         string
	stopCode              string
	stoppedReason         string
	stopRequested         bool
	createdAt, pullStart  time.Time
	pullStop, startedAt   time.Time
	stoppingAt, stoppedAt time.Time
	containers            []*containerState
	cancel                context.CancelFunc
	gen                   int
}

type containerState struct {
	arn, name, image string
	lastStatus       string
	exitCode         *int
	reason           string
}

func newTaskService(e *Emulator) *taskService {
	return &taskService{e: e, ecs: ecs.NewFromConfig(e.backend), tasks: map[string]*task{}}
}

func (ts *taskService) reset() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, t := range ts.tasks {
		t.cancel()
	}
	ts.tasks = map[string]*task{}
	ts.order = nil
	ts.gen++
}

// serve handles the ECS operations the emulation owns; false hands the request to moto.
func (ts *taskService) serve(w http.ResponseWriter, r *http.Request, op string) bool {
	var handle func(context.Context, []byte) (any, error)
	switch op {
	case "RunTask":
		handle = ts.runTask
	case "DescribeTasks":
		handle = ts.describeTasks
	case "StopTask":
		handle = ts.stopTask
	case "ListTasks":
		handle = ts.listTasks
	case "UpdateService":
		if err := ts.checkUpdateService(r.Context(), readBody(r)); err != nil {
			writeAPIError(w, err)
			return true
		}
		defaultSecurityGroups(r)
		return false
	case "CreateService", "CreateTaskSet":
		defaultSecurityGroups(r)
		return false
	default:
		return false
	}
	body, _ := io.ReadAll(r.Body)
	out, err := handle(r.Context(), body)
	if err != nil {
		writeAPIError(w, err)
		return true
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID)
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
	return true
}

// apiError is an AWS JSON-protocol error the emulation answers itself.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func clientErr(code, format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func writeAPIError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Status: http.StatusInternalServerError, Code: "ServerException", Message: err.Error()}
	}
	writeJSONError(w, ae.Status, ae.Code, ae.Message)
}

func decodeRequest(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return clientErr("InvalidParameterException", "malformed request: %v", err)
	}
	return nil
}

// clusterARN resolves a cluster name or ARN ("" = default) through moto.
func (ts *taskService) clusterARN(ctx context.Context, cluster string) (string, error) {
	if cluster == "" {
		cluster = "default"
	}
	out, err := ts.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if err != nil {
		return "", fmt.Errorf("describe cluster %s in moto: %w", cluster, err)
	}
	for _, c := range out.Clusters {
		if aws.ToString(c.Status) != "INACTIVE" {
			return aws.ToString(c.ClusterArn), nil
		}
	}
	return "", clientErr("ClusterNotFoundException", "Cluster not found.")
}

type runTaskRequest struct {
	Cluster              string          `json:"cluster"`
	TaskDefinition       string          `json:"taskDefinition"`
	Count                int             `json:"count"`
	StartedBy            string          `json:"startedBy"`
	Group                string          `json:"group"`
	LaunchType           string          `json:"launchType"`
	PlatformVersion      string          `json:"platformVersion"`
	Overrides            json.RawMessage `json:"overrides"`
	Tags                 json.RawMessage `json:"tags"`
	NetworkConfiguration *struct {
		AwsvpcConfiguration *struct {
			Subnets        []string `json:"subnets"`
			SecurityGroups []string `json:"securityGroups"`
		} `json:"awsvpcConfiguration"`
	} `json:"networkConfiguration"`
}

func (ts *taskService) runTask(ctx context.Context, body []byte) (any, error) {
	var req runTaskRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if req.TaskDefinition == "" {
		return nil, clientErr("InvalidParameterException", "taskDefinition can not be blank.")
	}
	if req.Count == 0 {
		req.Count = 1
	}
	if req.Count < 1 || req.Count > 10 {
		return nil, clientErr("InvalidParameterException", "count must be between 1 and 10.")
	}
	clusterARN, err := ts.clusterARN(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	tdOut, err := ts.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(req.TaskDefinition)})
	if err != nil || tdOut.TaskDefinition == nil {
		return nil, clientErr("ClientException", "Unable to describe task definition.")
	}
	td := *tdOut.TaskDefinition
	if req.LaunchType == "FARGATE" && !slices.Contains(td.RequiresCompatibilities, ecstypes.CompatibilityFargate) &&
		!slices.Contains(td.Compatibilities, ecstypes.CompatibilityFargate) {
		return nil, clientErr("ClientException", "Task definition does not support launch_type FARGATE.")
	}
	if td.NetworkMode == ecstypes.NetworkModeAwsvpc || req.LaunchType == "FARGATE" {
		nc := req.NetworkConfiguration
		if nc == nil || nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.Subnets) == 0 {
			return nil, clientErr("InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified.")
		}
		for _, id := range nc.AwsvpcConfiguration.Subnets {
			if _, err := ec2.NewFromConfig(ts.e.backend).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}}); err != nil {
				return nil, clientErr("InvalidParameterException", "Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist", id, id)
			}
		}
	}
	var overrides ecstypes.TaskOverride
	if len(req.Overrides) > 0 {
		if err := json.Unmarshal(req.Overrides, &overrides); err != nil {
			return nil, clientErr("InvalidParameterException", "malformed overrides: %v", err)
		}
		for _, co := range overrides.ContainerOverrides {
			if !slices.ContainsFunc(td.ContainerDefinitions, func(d ecstypes.ContainerDefinition) bool {
				return aws.ToString(d.Name) == aws.ToString(co.Name)
			}) {
				return nil, clientErr("InvalidParameterException", "Override for container named %s is not a container in the TaskDefinition.", aws.ToString(co.Name))
			}
		}
	} else {
		req.Overrides = json.RawMessage(`{"containerOverrides":[],"inferenceAcceleratorOverrides":[]}`)
	}

	var started []*task
	for range req.Count {
		started = append(started, ts.start(clusterARN, td, req, overrides))
	}
	views := make([]map[string]any, len(started))
	ts.mu.Lock()
	for i, t := range started {
		views[i] = t.view()
	}
	ts.mu.Unlock()
	return map[string]any{"tasks": views, "failures": []any{}}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func clusterName(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func (ts *taskService) start(clusterARN string, td ecstypes.TaskDefinition, req runTaskRequest, ov ecstypes.TaskOverride) *task {
	id := randomHex(16)
	t := &task{
		id:            id,
		arn:           fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", DefaultRegion, AccountID, clusterName(clusterARN), id),
		clusterARN:    clusterARN,
		tdARN:         aws.ToString(td.TaskDefinitionArn),
		family:        aws.ToString(td.Family),
		group:         req.Group,
		startedBy:     req.StartedBy,
		launchType:    req.LaunchType,
		platform:      req.PlatformVersion,
		cpu:           aws.ToString(td.Cpu),
		memory:        aws.ToString(td.Memory),
		overrides:     req.Overrides,
		tags:          req.Tags,
		lastStatus:    "PROVISIONING",
		desiredStatus: "RUNNING",
		createdAt:     time.Now(),
	}
	if t.group == "" {
		t.group = "family:" + t.family
	}
	if t.launchType == "" {
		t.launchType = "EC2"
	}
	if t.launchType == "FARGATE" && t.platform == "" {
		t.platform = "1.4.0"
	}
	if ov.Cpu != nil {
		t.cpu = *ov.Cpu
	}
	if ov.Memory != nil {
		t.memory = *ov.Memory
	}
	for _, d := range td.ContainerDefinitions {
		t.containers = append(t.containers, &containerState{
			arn:        fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s", DefaultRegion, AccountID, clusterName(clusterARN), id, randomHex(16)),
			name:       aws.ToString(d.Name),
			image:      aws.ToString(d.Image),
			lastStatus: "PENDING",
		})
	}
	fault := ts.e.faults.takeTaskFault()
	ctx, cancel := context.WithCancel(ts.e.ctx)
	t.cancel = cancel

	ts.mu.Lock()
	t.gen = ts.gen
	ts.tasks[t.arn] = t
	ts.order = append(ts.order, t.arn)
	ts.mu.Unlock()
	ts.e.opts.Logf("awsemu: ecs: task %s (%s) PROVISIONING", id, t.family)
	ts.e.goBackground(func(context.Context) { ts.lifecycle(ctx, t, td, ov, fault) })
	return t
}

// update changes a task under the lock, unless it was dropped by Reset.
func (ts *taskService) update(t *task, f func(t *task)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.gen == ts.gen {
		f(t)
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

func (ts *taskService) lifecycle(ctx context.Context, t *task, td ecstypes.TaskDefinition, ov ecstypes.TaskOverride, fault *TaskFault) {
	defer t.cancel()
	step := ts.e.opts.TaskStepDelay
	logf := ts.e.opts.Logf
	if !sleep(ctx, step) {
		ts.finish(t, TaskOutcome{}, false)
		return
	}
	ts.update(t, func(t *task) { t.lastStatus, t.pullStart = "PENDING", time.Now() })

	run, logs, err := ts.prepare(ctx, t, td, ov)
	if err == nil && fault != nil && fault.FailToStart != "" {
		err = errors.New(fault.FailToStart)
	}
	if err != nil {
		logf("awsemu: ecs: task %s failed to start: %v", t.id, err)
		ts.finish(t, TaskOutcome{FailedToStart: err.Error()}, false)
		return
	}
	if !sleep(ctx, step) {
		ts.finish(t, TaskOutcome{}, false)
		return
	}
	ranAt := time.Time{}
	run.running = func() {
		started := false
		ts.update(t, func(t *task) {
			if t.lastStatus == "RUNNING" {
				return
			}
			t.lastStatus, t.pullStop, t.startedAt = "RUNNING", time.Now(), time.Now()
			for _, c := range t.containers {
				c.lastStatus = "RUNNING"
			}
			ranAt, started = t.startedAt, true
		})
		if started {
			logf("awsemu: ecs: task %s RUNNING", t.id)
		}
	}
	out := ts.e.opts.TaskRunner.Run(ctx, run)
	if out.FailedToStart == "" {
		run.Running() // a runner that returns without saying so still ran
		if fault != nil && fault.RunFor > 0 {
			sleep(ctx, time.Until(ranAt.Add(fault.RunFor)))
		}
		if fault != nil {
			if out.Exits == nil {
				out.Exits = map[string]ContainerExit{}
			}
			for name, ex := range fault.Exits {
				out.Exits[name] = ex
			}
			// The injected exit is what the container's log should end with, as
			// diagnostics read the last lines.
			for _, c := range run.Containers {
				if ex, ok := fault.Exits[c.Name]; ok {
					fmt.Fprintf(c.Log, "container %s exited with code %d: %s\n", c.Name, ex.ExitCode, ex.Reason)
				}
			}
		}
	}
	for _, l := range logs {
		l.flush()
	}
	ts.update(t, func(t *task) {
		t.lastStatus, t.stoppingAt, t.desiredStatus = "DEPROVISIONING", time.Now(), "STOPPED"
	})
	sleep(context.WithoutCancel(ctx), step)
	ts.finish(t, out, true)
}

// prepare resolves containers (overrides, environment, secrets, log streams) for the runner.
func (ts *taskService) prepare(ctx context.Context, t *task, td ecstypes.TaskDefinition, ov ecstypes.TaskOverride) (*TaskRun, []*taskLog, error) {
	run := &TaskRun{
		TaskARN: t.arn, ClusterARN: t.clusterARN, StartedBy: t.startedBy, Group: t.group,
		LaunchType: t.launchType, TaskDefinition: td, Overrides: ov,
	}
	exec, taskEnv, err := ts.roles(ctx, t, td, ov)
	if err != nil {
		return nil, nil, err
	}
	var logs []*taskLog
	for _, def := range td.ContainerDefinitions {
		var cov *ecstypes.ContainerOverride
		for i := range ov.ContainerOverrides {
			if aws.ToString(ov.ContainerOverrides[i].Name) == aws.ToString(def.Name) {
				cov = &ov.ContainerOverrides[i]
			}
		}
		if err := ts.mayPull(ctx, td, ov, aws.ToString(def.Image)); err != nil {
			return nil, nil, err
		}
		env, err := ts.containerEnvironment(ctx, def, cov, exec)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range taskEnv {
			if _, set := env[k]; !set {
				env[k] = v
			}
		}
		cr := &ContainerRun{
			Name: aws.ToString(def.Name), Image: aws.ToString(def.Image),
			EntryPoint: def.EntryPoint, Command: def.Command, Environment: env,
			Essential: def.Essential == nil || *def.Essential, Log: io.Discard, Definition: def,
		}
		if cov != nil && cov.Command != nil {
			cr.Command = cov.Command
		}
		l, err := ts.openTaskLog(ctx, def, t.id, exec)
		if err != nil {
			return nil, nil, err
		}
		if l != nil {
			cr.Log = l
			logs = append(logs, l)
		}
		run.Containers = append(run.Containers, cr)
	}
	return run, logs, nil
}

// roles gives a task its identities, as ECS does: ECS itself reads the secrets and
// writes the logs with the execution role, and the containers get the task role's
// credentials (here as AWS_* environment variables, with the emulation's endpoint;
// ECS serves them from its container credentials endpoint). Without an execution
// role the emulation reads and writes as the administrator, where ECS would refuse to
// start the task.
func (ts *taskService) roles(ctx context.Context, t *task, td ecstypes.TaskDefinition, ov ecstypes.TaskOverride) (aws.Config, map[string]string, error) {
	execRole, taskRole := aws.ToString(td.ExecutionRoleArn), aws.ToString(td.TaskRoleArn)
	if r := aws.ToString(ov.ExecutionRoleArn); r != "" {
		execRole = r
	}
	if r := aws.ToString(ov.TaskRoleArn); r != "" {
		taskRole = r
	}
	source := map[string][]string{"aws:SourceArn": {t.arn}}
	exec := ts.e.backend
	if execRole != "" {
		creds, err := ts.e.authz.assumeFor(ctx, "ecs-tasks.amazonaws.com", execRole, source)
		if err != nil {
			return exec, nil, fmt.Errorf("ResourceInitializationError: ECS was unable to assume the execution role %s: %w", execRole, err)
		}
		exec = ts.e.ConfigFor(creds)
	}
	if taskRole == "" {
		return exec, nil, nil
	}
	creds, err := ts.e.authz.assumeFor(ctx, "ecs-tasks.amazonaws.com", taskRole, source)
	if err != nil {
		return exec, nil, fmt.Errorf("ResourceInitializationError: ECS was unable to assume the task role %s: %w", taskRole, err)
	}
	return exec, map[string]string{
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey, "AWS_SESSION_TOKEN": creds.SessionToken,
		"AWS_ENDPOINT_URL": ts.e.Endpoint(), "AWS_REGION": DefaultRegion,
	}, nil
}

// mayPull checks that the execution role may pull image, when it lives in the
// emulation's registry (ECR), as ECS does before it starts a container.
func (ts *taskService) mayPull(ctx context.Context, td ecstypes.TaskDefinition, ov ecstypes.TaskOverride, image string) error {
	role := aws.ToString(td.ExecutionRoleArn)
	if r := aws.ToString(ov.ExecutionRoleArn); r != "" {
		role = r
	}
	repo, ok := strings.CutPrefix(image, ts.e.RegistryHost()+"/")
	if role == "" || !ok {
		return nil
	}
	repo, _, _ = strings.Cut(repo, "@")
	if i := strings.LastIndexByte(repo, ':'); i >= 0 {
		repo = repo[:i]
	}
	for _, req := range []iampolicy.Request{
		{Action: "ecr:GetAuthorizationToken"},
		{Action: "ecr:BatchGetImage", Resources: []string{repositoryARN(repo)}},
		{Action: "ecr:GetDownloadUrlForLayer", Resources: []string{repositoryARN(repo)}},
	} {
		if err := ts.e.authz.authorizeAs(ctx, "ecs-tasks.amazonaws.com", role, req); err != nil {
			return fmt.Errorf("CannotPullContainerError: pull image %s with the execution role: %w", image, err)
		}
	}
	return nil
}

// finish moves a task to STOPPED with the outcome; ran says whether it reached RUNNING.
func (ts *taskService) finish(t *task, out TaskOutcome, ran bool) {
	ts.update(t, func(t *task) {
		now := time.Now()
		t.lastStatus, t.desiredStatus, t.stoppedAt = "STOPPED", "STOPPED", now
		if t.stoppingAt.IsZero() {
			t.stoppingAt = now
		}
		switch {
		case t.stopRequested:
			t.stopCode = "UserInitiated"
		case out.FailedToStart != "":
			t.stopCode, t.stoppedReason = "TaskFailedToStart", out.FailedToStart
		case ran:
			t.stopCode, t.stoppedReason = "EssentialContainerExited", "Essential container in task exited"
		default:
			t.stopCode, t.stoppedReason = "TaskFailedToStart", "Task stopped before it started"
		}
		for _, c := range t.containers {
			c.lastStatus = "STOPPED"
			if ex, ok := out.Exits[c.name]; ok && ran {
				code := ex.ExitCode
				c.exitCode, c.reason = &code, ex.Reason
			}
		}
	})
	ts.e.opts.Logf("awsemu: ecs: task %s STOPPED (%s)", t.id, t.stopCode)
}

// view renders a task in ECS's wire shape. Callers hold ts.mu.
func (t *task) view() map[string]any {
	v := map[string]any{
		"taskArn":           t.arn,
		"clusterArn":        t.clusterARN,
		"taskDefinitionArn": t.tdARN,
		"group":             t.group,
		"lastStatus":        t.lastStatus,
		"desiredStatus":     t.desiredStatus,
		"launchType":        t.launchType,
		"overrides":         t.overrides,
		"createdAt":         epoch(t.createdAt),
		"version":           1,
		"availabilityZone":  DefaultRegion + "a",
		"connectivity":      "CONNECTED",
	}
	if t.startedBy != "" {
		v["startedBy"] = t.startedBy
	}
	if t.platform != "" {
		v["platformVersion"] = t.platform
	}
	if t.cpu != "" {
		v["cpu"] = t.cpu
	}
	if t.memory != "" {
		v["memory"] = t.memory
	}
	if len(t.tags) > 0 {
		v["tags"] = t.tags
	}
	for key, at := range map[string]time.Time{
		"pullStartedAt": t.pullStart, "pullStoppedAt": t.pullStop, "startedAt": t.startedAt,
		"stoppingAt": t.stoppingAt, "stoppedAt": t.stoppedAt, "executionStoppedAt": t.stoppedAt,
	} {
		if !at.IsZero() {
			v[key] = epoch(at)
		}
	}
	if t.stopCode != "" {
		v["stopCode"] = t.stopCode
	}
	if t.stoppedReason != "" {
		v["stoppedReason"] = t.stoppedReason
	}
	cs := make([]map[string]any, len(t.containers))
	for i, c := range t.containers {
		cv := map[string]any{
			"containerArn": c.arn, "taskArn": t.arn, "name": c.name, "image": c.image,
			"lastStatus": c.lastStatus, "networkInterfaces": []any{},
		}
		if c.exitCode != nil {
			cv["exitCode"] = *c.exitCode
		}
		if c.reason != "" {
			cv["reason"] = c.reason
		}
		cs[i] = cv
	}
	v["containers"] = cs
	return v
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// lookup finds a task of a cluster by ARN or ID. Callers hold ts.mu.
func (ts *taskService) lookup(clusterARN, ref string) *task {
	if t, ok := ts.tasks[ref]; ok && t.clusterARN == clusterARN {
		return t
	}
	for _, t := range ts.tasks {
		if t.id == ref && t.clusterARN == clusterARN {
			return t
		}
	}
	return nil
}

func (ts *taskService) describeTasks(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Cluster string   `json:"cluster"`
		Tasks   []string `json:"tasks"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	if len(req.Tasks) == 0 {
		return nil, clientErr("InvalidParameterException", "Tasks cannot be empty.")
	}
	clusterARN, err := ts.clusterARN(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tasks, failures := []map[string]any{}, []map[string]any{}
	for _, ref := range req.Tasks {
		if t := ts.lookup(clusterARN, ref); t != nil {
			tasks = append(tasks, t.view())
		} else {
			failures = append(failures, map[string]any{"arn": ref, "reason": "MISSING"})
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func (ts *taskService) stopTask(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Cluster string `json:"cluster"`
		Task    string `json:"task"`
		Reason  string `json:"reason"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	clusterARN, err := ts.clusterARN(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.lookup(clusterARN, req.Task)
	if t == nil {
		return nil, clientErr("InvalidParameterException", "The referenced task was not found.")
	}
	if t.lastStatus != "STOPPED" && !t.stopRequested {
		t.stopRequested = true
		t.desiredStatus = "STOPPED"
		t.stoppedReason = req.Reason
		if t.stoppedReason == "" {
			t.stoppedReason = "Task stopped by user"
		}
		t.cancel()
	}
	return map[string]any{"task": t.view()}, nil
}

func (ts *taskService) listTasks(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Cluster       string `json:"cluster"`
		Family        string `json:"family"`
		StartedBy     string `json:"startedBy"`
		ServiceName   string `json:"serviceName"`
		DesiredStatus string `json:"desiredStatus"`
		LaunchType    string `json:"launchType"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	clusterARN, err := ts.clusterARN(ctx, req.Cluster)
	if err != nil {
		return nil, err
	}
	if req.DesiredStatus == "" {
		req.DesiredStatus = "RUNNING"
	}
	if req.ServiceName != "" {
		req.ServiceName = "service:" + req.ServiceName[strings.LastIndexByte(req.ServiceName, '/')+1:]
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	arns := []string{}
	for _, arn := range ts.order {
		t := ts.tasks[arn]
		switch {
		case t.clusterARN != clusterARN,
			t.desiredStatus != req.DesiredStatus,
			req.Family != "" && t.family != req.Family,
			req.StartedBy != "" && t.startedBy != req.StartedBy,
			req.ServiceName != "" && t.group != req.ServiceName,
			req.LaunchType != "" && t.launchType != req.LaunchType:
			continue
		}
		arns = append(arns, arn)
	}
	return map[string]any{"taskArns": arns}, nil
}

// checkUpdateService rejects a task definition change on a CODE_DEPLOY service, as
// ECS does (moto accepts it); desiredCount-only updates pass through.
func (ts *taskService) checkUpdateService(ctx context.Context, body []byte) error {
	var req struct {
		Cluster        string `json:"cluster"`
		Service        string `json:"service"`
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := decodeRequest(body, &req); err != nil {
		return err
	}
	if req.TaskDefinition == "" {
		return nil
	}
	cluster := req.Cluster
	if cluster == "" {
		cluster = "default"
	}
	out, err := ts.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{req.Service}})
	if err != nil || len(out.Services) == 0 {
		return nil // moto answers the missing cluster or service itself
	}
	svc := out.Services[0]
	if svc.DeploymentController == nil || svc.DeploymentController.Type != ecstypes.DeploymentControllerTypeCodeDeploy {
		return nil
	}
	td, err := ts.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(req.TaskDefinition)})
	if err == nil && aws.ToString(td.TaskDefinition.TaskDefinitionArn) == aws.ToString(svc.TaskDefinition) {
		return nil
	}
	return clientErr("InvalidParameterException",
		"Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.")
}

// defaultSecurityGroups adds an empty securityGroups list to an awsvpcConfiguration
// that has none: ECS accepts that (the VPC's default group applies), moto answers 500.
func defaultSecurityGroups(r *http.Request) {
	var req map[string]json.RawMessage
	if json.Unmarshal(readBody(r), &req) != nil {
		return
	}
	var nc map[string]map[string]json.RawMessage
	if json.Unmarshal(req["networkConfiguration"], &nc) != nil || nc["awsvpcConfiguration"] == nil {
		return
	}
	if _, ok := nc["awsvpcConfiguration"]["securityGroups"]; ok {
		return
	}
	nc["awsvpcConfiguration"]["securityGroups"] = json.RawMessage("[]")
	req["networkConfiguration"], _ = json.Marshal(nc)
	body, _ := json.Marshal(req)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}
