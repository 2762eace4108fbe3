package ecstask

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// LogLocation is where a task's container logs with the awslogs driver.
type LogLocation struct {
	Group  string
	Stream string
	Region string // "" when the task definition does not name one
}

func (l LogLocation) String() string {
	s := "CloudWatch Logs group " + l.Group + " stream " + l.Stream
	if l.Region != "" {
		s += " (" + l.Region + ")"
	}
	return s
}

// NoLogsError says why a container's logs cannot be located.
type NoLogsError struct{ Container, Reason string }

func (e *NoLogsError) Error() string {
	return fmt.Sprintf("no CloudWatch logs for container %s: %s", e.Container, e.Reason)
}

// Locate derives the log stream of one task's container from the awslogs options of
// its task definition: <awslogs-stream-prefix>/<container>/<task-id>.
func Locate(td *types.TaskDefinition, container, taskArn string) (LogLocation, error) {
	if td == nil {
		return LogLocation{}, &NoLogsError{Container: container, Reason: "no task definition"}
	}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) != container {
			continue
		}
		lc := c.LogConfiguration
		if lc == nil || lc.LogDriver != types.LogDriverAwslogs {
			return LogLocation{}, &NoLogsError{Container: container, Reason: "the container does not use the awslogs log driver"}
		}
		group, prefix := lc.Options["awslogs-group"], lc.Options["awslogs-stream-prefix"]
		if group == "" || prefix == "" {
			// Without a prefix awslogs names streams by container ID, which ECS does not report.
			return LogLocation{}, &NoLogsError{Container: container, Reason: "awslogs-group and awslogs-stream-prefix must both be set"}
		}
		return LogLocation{Group: group, Stream: prefix + "/" + container + "/" + TaskID(taskArn), Region: lc.Options["awslogs-region"]}, nil
	}
	return LogLocation{}, &NoLogsError{Container: container, Reason: "no such container in task definition " + aws.ToString(td.TaskDefinitionArn)}
}

// LogTail returns the last n lines the container of the task logged, oldest first.
func LogTail(ctx context.Context, logs LogsAPI, td *types.TaskDefinition, container, taskArn string, n int) (LogLocation, []string, error) {
	loc, err := Locate(td, container, taskArn)
	if err != nil {
		return loc, nil, err
	}
	if n <= 0 {
		return loc, nil, nil
	}
	out, err := logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
		LogGroupName:  aws.String(loc.Group),
		LogStreamName: aws.String(loc.Stream),
		Limit:         aws.Int32(int32(min(n, 10000))),
		StartFromHead: aws.Bool(false),
	})
	if err != nil {
		return loc, nil, fmt.Errorf("read %s: %w", loc, err)
	}
	lines := make([]string, 0, len(out.Events))
	for _, e := range out.Events {
		lines = append(lines, strings.TrimRight(aws.ToString(e.Message), "\n"))
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return loc, lines, nil
}
