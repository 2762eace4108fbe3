package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/jackc/pgx/v5"

	"github.com/knowmetools/km-release/testrig/envfixture"
	"github.com/knowmetools/km-release/testrig/freeport"
)

// apiStatus is the sample API's /status/ answer.
type apiStatus struct {
	Code    int
	Status  string   `json:"status"`
	Version string   `json:"version"`
	Pending []string `json:"pending_migrations"`
}

func (s apiStatus) String() string {
	out := fmt.Sprintf("HTTP %d %s (version %s)", s.Code, s.Status, s.Version)
	if len(s.Pending) > 0 {
		out += ", pending " + strings.Join(s.Pending, ", ")
	}
	return out
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func getStatus(ctx context.Context, port int) (apiStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/status/", port), nil)
	if err != nil {
		return apiStatus{}, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return apiStatus{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	st := apiStatus{Code: resp.StatusCode}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("/status/ answered %d with %q", resp.StatusCode, b)
	}
	return st, nil
}

// checker reads the environment the way a user of the load balancer would see it.
type checker struct {
	env *Environment
	ecs *ecs.Client
	elb *elbv2.Client
	cd  *codedeploy.Client
	// ports of the tasks the checker started itself
	ports []int
}

// serving asks each target of the production target group for /status/, as the
// load balancer would route a request.
func (c *checker) serving(ctx context.Context) ([]apiStatus, error) {
	tg, err := envfixture.ProdTargetGroup(ctx, c.elb, c.env.Resources.ProdListenerARN)
	if err != nil {
		return nil, err
	}
	th, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return nil, err
	}
	var out []apiStatus
	for _, t := range th.TargetHealthDescriptions {
		if t.Target == nil || t.Target.Port == nil {
			continue
		}
		st, err := getStatus(ctx, int(*t.Target.Port))
		if err != nil {
			return nil, fmt.Errorf("target 127.0.0.1:%d: %w", *t.Target.Port, err)
		}
		out = append(out, st)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the production target group %s has no targets", tgName(tg))
	}
	return out, nil
}

// expectServing checks that production traffic reaches version, healthy, only.
func (c *checker) expectServing(ctx context.Context, version string) (string, error) {
	sts, err := c.serving(ctx)
	if err != nil {
		return "", err
	}
	for _, st := range sts {
		if st.Code != http.StatusOK || st.Version != version {
			return "", fmt.Errorf("production traffic reaches %s, want %s healthy", st, version)
		}
	}
	tg, _ := envfixture.ProdTargetGroup(ctx, c.elb, c.env.Resources.ProdListenerARN)
	return fmt.Sprintf("production traffic (%s) reaches %s: %s", tgName(tg), version, sts[0]), nil
}

func tgName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 2 {
		return parts[len(parts)-2]
	}
	return arn
}

// latestDeployment is the newest deployment of the group that is not a rollback.
func (c *checker) latestDeployment(ctx context.Context) (*cdtypes.DeploymentInfo, error) {
	r := c.env.Resources
	list, err := c.cd.ListDeployments(ctx, &codedeploy.ListDeploymentsInput{ApplicationName: aws.String(r.CodeDeployApp), DeploymentGroupName: aws.String(r.CodeDeployGroup)})
	if err != nil {
		return nil, err
	}
	if len(list.Deployments) == 0 {
		return nil, fmt.Errorf("no deployments in group %s", r.CodeDeployGroup)
	}
	out, err := c.cd.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: list.Deployments})
	if err != nil {
		return nil, err
	}
	var latest *cdtypes.DeploymentInfo
	for i := range out.DeploymentsInfo {
		d := &out.DeploymentsInfo[i]
		if d.Creator == cdtypes.DeploymentCreatorCodeDeployRollback {
			continue
		}
		if latest == nil || aws.ToTime(d.CreateTime).After(aws.ToTime(latest.CreateTime)) {
			latest = d
		}
	}
	if latest == nil {
		return nil, fmt.Errorf("no user deployment in group %s", r.CodeDeployGroup)
	}
	return latest, nil
}

// clusterTasks describes every task of the cluster, running and stopped.
func (c *checker) clusterTasks(ctx context.Context) ([]ecstypes.Task, error) {
	var arns []string
	for _, st := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(c.ecs, &ecs.ListTasksInput{Cluster: aws.String(c.env.Resources.Cluster), DesiredStatus: st})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	var tasks []ecstypes.Task
	for chunk := range slices.Chunk(arns, 100) {
		out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(c.env.Resources.Cluster), Tasks: chunk})
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}

// migrationBeforeTraffic proves the order of a deployment: its migration task exited
// 0 before any replacement task was started, and production traffic moved after both.
func (c *checker) migrationBeforeTraffic(ctx context.Context, deploymentID string, moved time.Time) (string, error) {
	tasks, err := c.clusterTasks(ctx)
	if err != nil {
		return "", err
	}
	var migration *ecstypes.Task
	var replacements []ecstypes.Task
	for i, t := range tasks {
		switch {
		case aws.ToString(t.StartedBy) == deploymentID:
			migration = &tasks[i]
		case aws.ToString(t.Group) == "service:"+c.env.Resources.Service && aws.ToString(t.TaskDefinitionArn) != "":
			replacements = append(replacements, t)
		}
	}
	if migration == nil {
		return "", fmt.Errorf("no migration task was started for deployment %s", deploymentID)
	}
	if aws.ToString(migration.LastStatus) != "STOPPED" || len(migration.Containers) == 0 || migration.Containers[0].ExitCode == nil || *migration.Containers[0].ExitCode != 0 {
		return "", fmt.Errorf("the migration task %s did not exit 0 (status %s)", aws.ToString(migration.TaskArn), aws.ToString(migration.LastStatus))
	}
	migrated := aws.ToTime(migration.StoppedAt)
	var firstReplacement time.Time
	for _, t := range replacements {
		if aws.ToString(t.TaskDefinitionArn) != aws.ToString(migration.TaskDefinitionArn) {
			continue
		}
		if created := aws.ToTime(t.CreatedAt); firstReplacement.IsZero() || created.Before(firstReplacement) {
			firstReplacement = created
		}
	}
	switch {
	case firstReplacement.IsZero():
		return "", fmt.Errorf("no replacement task of %s was started", aws.ToString(migration.TaskDefinitionArn))
	case !migrated.Before(firstReplacement):
		return "", fmt.Errorf("a replacement task started at %s, before the migration ended at %s", firstReplacement.Format(time.RFC3339Nano), migrated.Format(time.RFC3339Nano))
	case moved.IsZero():
		return "", fmt.Errorf("production traffic was never seen moving to the new version")
	case !migrated.Before(moved):
		return "", fmt.Errorf("production traffic moved at %s, before the migration ended at %s", moved.Format(time.RFC3339Nano), migrated.Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("migration exited 0 at +0s; first replacement task started at +%s; traffic moved at +%s",
		firstReplacement.Sub(migrated).Round(time.Millisecond), moved.Sub(migrated).Round(time.Millisecond)), nil
}

// trafficMovedAt is when the deployment's AllowTraffic step began: production traffic
// moved to the replacement no earlier (for deployments nobody watched while they ran).
func (c *checker) trafficMovedAt(ctx context.Context, deploymentID string) (time.Time, error) {
	list, err := c.cd.ListDeploymentTargets(ctx, &codedeploy.ListDeploymentTargetsInput{DeploymentId: aws.String(deploymentID)})
	if err != nil {
		return time.Time{}, err
	}
	out, err := c.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: aws.String(deploymentID), TargetIds: list.TargetIds})
	if err != nil {
		return time.Time{}, err
	}
	for _, t := range out.DeploymentTargets {
		if t.EcsTarget == nil {
			continue
		}
		for _, ev := range t.EcsTarget.LifecycleEvents {
			if aws.ToString(ev.LifecycleEventName) == "AllowTraffic" && ev.StartTime != nil {
				return *ev.StartTime, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("deployment %s has no AllowTraffic step: traffic never moved", deploymentID)
}

// trafficWatch samples production traffic during a deployment and notes when it first
// reached want.
type trafficWatch struct {
	done    chan struct{}
	samples []string
	movedAt time.Time
}

func (c *checker) watchTraffic(ctx context.Context, want string) (stop func() *trafficWatch) {
	w := &trafficWatch{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		last := ""
		for {
			if sts, err := c.serving(ctx); err == nil && len(sts) > 0 {
				v := sts[0].Version
				if v != last {
					w.samples = append(w.samples, fmt.Sprintf("%s %s", time.Now().Format("15:04:05.000"), sts[0]))
					last = v
				}
				if v == want && w.movedAt.IsZero() {
					w.movedAt = time.Now()
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() *trafficWatch {
		cancel()
		<-w.done
		return w
	}
}

// appliedMigrations lists the schema's applied migrations.
func appliedMigrations(ctx context.Context, url string) ([]string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `select version from schema_migrations order by version`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// jobRuns counts the background job runs recorded by version.
func jobRuns(ctx context.Context, url, version string) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `select count(*) from job_runs where version = $1`, version).Scan(&n)
	return n, err
}

// servingTaskDefinition describes the task definition the service runs: its PRIMARY
// task set's.
func (c *checker) servingTaskDefinition(ctx context.Context) (*ecstypes.TaskDefinition, error) {
	r := c.env.Resources
	svc, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(r.Cluster), Services: []string{r.Service}})
	if err != nil || len(svc.Services) == 0 {
		return nil, fmt.Errorf("describe service %s: %v", r.Service, err)
	}
	current := aws.ToString(svc.Services[0].TaskDefinition)
	for _, ts := range svc.Services[0].TaskSets {
		if aws.ToString(ts.Status) == "PRIMARY" {
			current = aws.ToString(ts.TaskDefinition)
		}
	}
	td, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(current)})
	if err != nil {
		return nil, err
	}
	return td.TaskDefinition, nil
}

// preview runs image's server once as a one-off task of a preview family (a copy of
// the service's task definition with the image replaced) and returns its first
// /status/ answer: what a replacement task would answer before its migration ran.
func (c *checker) preview(ctx context.Context, image string) (apiStatus, error) {
	r := c.env.Resources
	def, err := c.servingTaskDefinition(ctx)
	if err != nil {
		return apiStatus{}, err
	}
	containers := slices.Clone(def.ContainerDefinitions)
	for i := range containers {
		if aws.ToString(containers[i].Name) == r.ContainerName {
			containers[i].Image = aws.String(image)
		}
	}
	reg, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(r.TaskFamily + "-preview"), ContainerDefinitions: containers, NetworkMode: def.NetworkMode,
		RequiresCompatibilities: def.RequiresCompatibilities, Cpu: def.Cpu, Memory: def.Memory,
		ExecutionRoleArn: def.ExecutionRoleArn, TaskRoleArn: def.TaskRoleArn,
	})
	if err != nil {
		return apiStatus{}, err
	}
	port, err := freeport.Get()
	if err != nil {
		return apiStatus{}, err
	}
	c.ports = append(c.ports, port)
	run, err := c.ecs.RunTask(ctx, &ecs.RunTaskInput{
		Cluster: aws.String(r.Cluster), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, LaunchType: ecstypes.LaunchTypeFargate,
		StartedBy: aws.String("rehearsal-preview"),
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: r.TaskSubnets, SecurityGroups: r.TaskSecurityGroups,
		}},
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{{
			Name: aws.String(r.ContainerName), Command: []string{"server"},
			Environment: []ecstypes.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String(strconv.Itoa(port))}},
		}}},
	})
	if err != nil {
		return apiStatus{}, err
	}
	if len(run.Tasks) != 1 {
		return apiStatus{}, fmt.Errorf("the preview task did not start")
	}
	taskARN := run.Tasks[0].TaskArn
	defer func() {
		_, _ = c.ecs.StopTask(context.WithoutCancel(ctx), &ecs.StopTaskInput{Cluster: aws.String(r.Cluster), Task: taskARN, Reason: aws.String("preview done")})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := getStatus(ctx, port)
		if err == nil {
			return st, nil
		}
		if time.Now().After(deadline) {
			return apiStatus{}, fmt.Errorf("the preview task never answered /status/: %w", err)
		}
		select {
		case <-ctx.Done():
			return apiStatus{}, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
