package ecstask

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// LogFollower reads a task container's log stream forward, a batch of new lines per
// call, so a caller waiting for the task can stream its output.
type LogFollower struct {
	Logs     LogsAPI
	Location LogLocation
	token    *string
}

// Next returns the lines logged since the previous call, oldest first. A stream that
// does not exist yet (the container has not started logging) yields no lines.
func (f *LogFollower) Next(ctx context.Context) ([]string, error) {
	var lines []string
	for {
		out, err := f.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName:  aws.String(f.Location.Group),
			LogStreamName: aws.String(f.Location.Stream),
			StartFromHead: aws.Bool(true),
			NextToken:     f.token,
		})
		if err != nil {
			var missing *cwltypes.ResourceNotFoundException
			if errors.As(err, &missing) {
				return lines, nil
			}
			return lines, fmt.Errorf("read %s: %w", f.Location, err)
		}
		for _, e := range out.Events {
			lines = append(lines, strings.TrimRight(aws.ToString(e.Message), "\n"))
		}
		// The forward token stays the same once the end of the stream is reached.
		same := f.token != nil && aws.ToString(out.NextForwardToken) == aws.ToString(f.token)
		if out.NextForwardToken != nil {
			f.token = out.NextForwardToken
		}
		if same || len(out.Events) == 0 || out.NextForwardToken == nil {
			return lines, nil
		}
	}
}
