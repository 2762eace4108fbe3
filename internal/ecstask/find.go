package ecstask

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// FindByStartedBy returns the tasks of the cluster started with startedBy, running
// (including PROVISIONING/PENDING) and recently stopped, newest first.
func FindByStartedBy(ctx context.Context, client API, cluster, startedBy string) ([]types.Task, error) {
	var arns []string
	for _, desired := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(client, &ecs.ListTasksInput{
			Cluster:       aws.String(cluster),
			StartedBy:     aws.String(startedBy),
			DesiredStatus: desired,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list tasks started by %q in cluster %s: %w", startedBy, cluster, err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	tasks, err := describe(ctx, client, cluster, arns)
	if err != nil {
		return nil, err
	}
	// ListTasks filters on startedBy already; checking again guards against a backend
	// that ignores the filter, which would otherwise make callers adopt foreign tasks.
	out := tasks[:0]
	for _, t := range tasks {
		if aws.ToString(t.StartedBy) == startedBy {
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return aws.ToTime(out[i].CreatedAt).After(aws.ToTime(out[j].CreatedAt))
	})
	return out, nil
}

// Active reports whether a task has not stopped yet (provisioning, pending, running
// or stopping).
func Active(t types.Task) bool {
	return aws.ToString(t.LastStatus) != string(types.DesiredStatusStopped)
}

func describe(ctx context.Context, client API, cluster string, arns []string) ([]types.Task, error) {
	seen := map[string]bool{}
	var uniq []string
	for _, a := range arns {
		if !seen[a] {
			seen[a] = true
			uniq = append(uniq, a)
		}
	}
	var tasks []types.Task
	const batch = 100 // DescribeTasks' limit
	for i := 0; i < len(uniq); i += batch {
		out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: uniq[i:min(i+batch, len(uniq))]})
		if err != nil {
			return nil, fmt.Errorf("describe tasks in cluster %s: %w", cluster, err)
		}
		tasks = append(tasks, out.Tasks...)
	}
	return tasks, nil
}
