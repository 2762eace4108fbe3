// Package ecstask runs one-off ECS tasks (migrations, background jobs) and reports how
// they ended: it builds the RunTask input, waits for STOPPED with progress, finds tasks
// a caller started earlier, turns the outcome into a typed result and error, and reads
// the last lines the container logged to CloudWatch.
package ecstask

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// API is the part of *ecs.Client this package uses.
type API interface {
	RunTask(context.Context, *ecs.RunTaskInput, ...func(*ecs.Options)) (*ecs.RunTaskOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
}

// LogsAPI is the part of *cloudwatchlogs.Client LogTail uses.
type LogsAPI interface {
	GetLogEvents(context.Context, *cloudwatchlogs.GetLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetLogEventsOutput, error)
}

var (
	_ API     = (*ecs.Client)(nil)
	_ LogsAPI = (*cloudwatchlogs.Client)(nil)
)

// TaskID is the last segment of a task ARN (both the long and the old short format).
func TaskID(taskArn string) string {
	return taskArn[strings.LastIndex(taskArn, "/")+1:]
}
