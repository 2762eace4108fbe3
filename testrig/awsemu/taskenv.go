package awsemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// containerEnvironment merges definition environment, override environment and
// resolved secrets, as the ECS agent does.
// Secrets are read with cfg, the task's execution role.
func (ts *taskService) containerEnvironment(ctx context.Context, def ecstypes.ContainerDefinition, ov *ecstypes.ContainerOverride, cfg aws.Config) (map[string]string, error) {
	env := map[string]string{}
	for _, kv := range def.Environment {
		env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	if ov != nil {
		for _, kv := range ov.Environment {
			env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
	}
	for _, s := range def.Secrets {
		v, err := resolveSecret(ctx, cfg, aws.ToString(s.ValueFrom))
		if err != nil {
			return nil, fmt.Errorf("ResourceInitializationError: unable to pull secrets or registry auth: retrieve secret %s for container %s: %w",
				aws.ToString(s.Name), aws.ToString(def.Name), err)
		}
		env[aws.ToString(s.Name)] = v
	}
	return env, nil
}

// resolveSecret reads a secrets[].valueFrom: an SSM parameter (name or ARN) or a
// Secrets Manager secret ARN with optional :json-key:version-stage:version-id.
func resolveSecret(ctx context.Context, cfg aws.Config, valueFrom string) (string, error) {
	if strings.HasPrefix(valueFrom, "arn:aws:secretsmanager:") {
		parts := strings.Split(valueFrom, ":")
		if len(parts) < 7 {
			return "", fmt.Errorf("malformed secret ARN %q", valueFrom)
		}
		in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(strings.Join(parts[:7], ":"))}
		var jsonKey string
		if len(parts) > 7 {
			jsonKey = parts[7]
		}
		if len(parts) > 8 && parts[8] != "" {
			in.VersionStage = aws.String(parts[8])
		}
		if len(parts) > 9 && parts[9] != "" {
			in.VersionId = aws.String(parts[9])
		}
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, in)
		if err != nil {
			return "", err
		}
		val := aws.ToString(out.SecretString)
		if jsonKey == "" {
			return val, nil
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(val), &doc); err != nil {
			return "", fmt.Errorf("secret is not JSON, cannot take key %q", jsonKey)
		}
		v, ok := doc[jsonKey]
		if !ok {
			return "", fmt.Errorf("secret has no key %q", jsonKey)
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		b, _ := json.Marshal(v)
		return string(b), nil
	}

	name := valueFrom
	if strings.HasPrefix(valueFrom, "arn:aws:ssm:") {
		if i := strings.Index(valueFrom, ":parameter"); i >= 0 {
			name = valueFrom[i+len(":parameter"):]
		}
	}
	client := ssm.NewFromConfig(cfg)
	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) && strings.HasPrefix(name, "/") && strings.Count(name, "/") == 1 {
		// The ARN of a parameter named without a leading slash still has one.
		out, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name[1:]), WithDecryption: aws.Bool(true)})
	}
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Parameter.Value), nil
}

// taskLog sends a container's output to CloudWatch Logs, one event per line.
type taskLog struct {
	ctx    context.Context
	client *cloudwatchlogs.Client
	group  string
	stream string
	logf   func(string, ...any)

	mu      sync.Mutex
	partial []byte
}

// openTaskLog prepares the awslogs stream of a container, or returns nil when the
// container has no awslogs configuration. A missing group fails like the ECS agent.
// It writes with cfg, the task's execution role.
func (ts *taskService) openTaskLog(ctx context.Context, def ecstypes.ContainerDefinition, taskID string, cfg aws.Config) (*taskLog, error) {
	lc := def.LogConfiguration
	if lc == nil || lc.LogDriver != ecstypes.LogDriverAwslogs {
		return nil, nil
	}
	group := lc.Options["awslogs-group"]
	if group == "" {
		return nil, fmt.Errorf("ResourceInitializationError: failed to validate logger args: awslogs-group is required for container %s", aws.ToString(def.Name))
	}
	stream := aws.ToString(def.Name) + "/" + taskID
	if p := lc.Options["awslogs-stream-prefix"]; p != "" {
		stream = p + "/" + stream
	}
	client := cloudwatchlogs.NewFromConfig(cfg)
	if lc.Options["awslogs-create-group"] == "true" {
		_, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		var exists *cwltypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			return nil, fmt.Errorf("ResourceInitializationError: failed to create log group %s: %w", group, err)
		}
	}
	if _, err := client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
	}); err != nil {
		return nil, fmt.Errorf("ResourceInitializationError: failed to validate logger args: create stream %s in log group %s: %w", stream, group, err)
	}
	return &taskLog{ctx: ts.e.ctx, client: client, group: group, stream: stream, logf: ts.e.opts.Logf}, nil
}

func (l *taskLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	var lines []string
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	l.put(lines)
	return len(p), nil
}

// flush sends an unterminated last line.
func (l *taskLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.put([]string{string(l.partial)})
		l.partial = nil
	}
}

func (l *taskLog) put(lines []string) {
	if len(lines) == 0 {
		return
	}
	now := time.Now().UnixMilli()
	events := make([]cwltypes.InputLogEvent, 0, len(lines))
	for _, line := range lines {
		events = append(events, cwltypes.InputLogEvent{Message: aws.String(line), Timestamp: aws.Int64(now)})
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(l.ctx), 10*time.Second)
	defer cancel()
	if _, err := l.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName: aws.String(l.group), LogStreamName: aws.String(l.stream), LogEvents: events,
	}); err != nil {
		l.logf("awsemu: write task log %s/%s: %v", l.group, l.stream, err)
	}
}
