package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// backgroundJobs invokes the jobs Lambda once, as its schedule would, and checks that
// the jobs ran on the version serving production.
func (r *run) backgroundJobs(ctx context.Context) (string, error) {
	event := fmt.Sprintf(`{"id":"rehearsal-%s","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, fmt.Sprint(time.Now().UnixNano()))
	fn := r.env.Resources.JobsFunction
	r.say("  invoking Lambda %s (what the %s schedule does every 15 minutes)", fn, r.env.Resources.JobsScheduleRule)
	out, err := awslambda.NewFromConfig(r.emu.AWSConfig()).Invoke(ctx, &awslambda.InvokeInput{
		FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeRequestResponse, Payload: []byte(event),
	})
	if err != nil {
		return "", fmt.Errorf("invoke %s: %w", fn, err)
	}
	if out.FunctionError != nil {
		return "", fmt.Errorf("%s failed (%s): %s", fn, aws.ToString(out.FunctionError), out.Payload)
	}
	var res struct {
		TaskArn        string `json:"taskArn"`
		TaskDefinition string `json:"taskDefinition"`
		ExitCode       *int   `json:"exitCode"`
		Skipped        bool   `json:"skipped"`
	}
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		return "", fmt.Errorf("%s answered %q: %w", fn, out.Payload, err)
	}
	if res.Skipped || res.ExitCode == nil || *res.ExitCode != 0 {
		return "", fmt.Errorf("%s did not run the jobs to exit code 0: %s", fn, out.Payload)
	}
	n, err := jobRuns(ctx, r.env.DBAdminURL, "v2")
	if err != nil {
		return "", err
	}
	if n < 1 {
		return "", fmt.Errorf("no background job run of v2 is recorded in the database")
	}
	return fmt.Sprintf("task %s on %s exited 0; %d run(s) of v2 recorded", shortARN(res.TaskArn), shortARN(res.TaskDefinition), n), nil
}

// checkWeb checks that the bucket serves the bundle: index.html names the hashed
// script, and the script has the environment's API URL baked in.
func (r *run) checkWeb(ctx context.Context) (string, error) {
	c := s3.NewFromConfig(r.emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
	bucket := r.env.Resources.WebBucket
	get := func(key string) (string, string, error) {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return "", "", fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return string(b), aws.ToString(out.ContentType), err
	}
	index, ctype, err := get("index.html")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(ctype, "text/html") {
		return "", fmt.Errorf("index.html is served as %q, want text/html", ctype)
	}
	i := strings.Index(index, `src="/static/`)
	if i < 0 {
		return "", fmt.Errorf("index.html names no script under /static/")
	}
	script := index[i+len(`src="/`):]
	script = script[:strings.IndexByte(script, '"')]
	js, _, err := get(script)
	if err != nil {
		return "", err
	}
	if !strings.Contains(js, r.env.Resources.APIURL) {
		return "", fmt.Errorf("%s does not contain the API URL %s", script, r.env.Resources.APIURL)
	}
	return fmt.Sprintf("s3://%s serves index.html and %s with the API URL baked in", bucket, script), nil
}

func shortARN(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
