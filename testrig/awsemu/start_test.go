package awsemu_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
	"github.com/knowmetools/km-release/testrig/freeport"
)

func s3Client(emu *awsemu.Emulator) *s3.Client {
	return s3.NewFromConfig(emu.AWSConfig(), func(o *s3.Options) { o.UsePathStyle = true })
}

func TestS3AndECSThroughSDK(t *testing.T) {
	emu := emutest.Start(t)
	ctx := t.Context()
	name := emutest.UniqueName(t)

	s3c := s3Client(emu)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("a/b.txt"),
		Body: strings.NewReader("hello"), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "a/b.txt" {
		t.Fatalf("listed %v, want a/b.txt", out.Contents)
	}

	ecsc := ecs.NewFromConfig(emu.AWSConfig())
	cl, err := ecsc.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if got := aws.ToString(cl.Cluster.ClusterName); got != name {
		t.Fatalf("cluster name %q, want %q", got, name)
	}
	desc, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}})
	if err != nil || len(desc.Clusters) != 1 {
		t.Fatalf("DescribeClusters: %v %v", desc, err)
	}
}

func TestEnvAndConfig(t *testing.T) {
	emu := emutest.Start(t)
	env := strings.Join(emu.Env(), "\n")
	for _, want := range []string{"AWS_ENDPOINT_URL=" + emu.Endpoint(), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID="} {
		if !strings.Contains(env, want) {
			t.Errorf("Env() lacks %q:\n%s", want, env)
		}
	}
	if got := aws.ToString(emu.AWSConfig().BaseEndpoint); got != emu.Endpoint() {
		t.Errorf("AWSConfig().BaseEndpoint = %q, want %q", got, emu.Endpoint())
	}
	if !strings.HasPrefix(emu.RegistryHost(), "127.0.0.1:") {
		t.Errorf("RegistryHost() = %q", emu.RegistryHost())
	}
}

func TestStartWithoutMotoModuleNamesTheFix(t *testing.T) {
	// An interpreter without site-packages has no moto.
	python := filepath.Join(t.TempDir(), "python-without-moto")
	if err := os.WriteFile(python, []byte("#!/bin/sh\nexec python3 -S \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := awsemu.Start(ctx, awsemu.Options{Python: python})
	if !errors.Is(err, awsemu.ErrMotoMissing) || !strings.Contains(err.Error(), "pip install 'moto[server]'") {
		t.Fatalf("err = %v, want ErrMotoMissing naming the fix", err)
	}
}

func TestStartWithoutPythonNamesTheFix(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := awsemu.Start(ctx, awsemu.Options{Python: "python3-that-does-not-exist"})
	if !errors.Is(err, awsemu.ErrMotoMissing) {
		t.Fatalf("err = %v, want ErrMotoMissing", err)
	}
	if !strings.Contains(err.Error(), "pip install 'moto[server]'") {
		t.Fatalf("error does not name the fix: %v", err)
	}
}

// A fixed registry port on a chosen host: what a container engine must be told about
// beforehand, and what repository URIs then name.
func TestListenHostAndRegistryPort(t *testing.T) {
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	emu, err := awsemu.Start(ctx, awsemu.Options{ListenHost: "127.0.0.2", RegistryPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	if want := fmt.Sprintf("127.0.0.2:%d", port); emu.RegistryHost() != want || !strings.HasPrefix(emu.Endpoint(), "http://127.0.0.2:") {
		t.Fatalf("registry %s, endpoint %s; want the registry at %s and the endpoint on 127.0.0.2", emu.RegistryHost(), emu.Endpoint(), want)
	}
	repo, err := ecr.NewFromConfig(emu.AWSConfig()).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(repo.Repository.RepositoryUri); got != emu.RegistryHost()+"/api" {
		t.Errorf("repository URI %s, want %s/api", got, emu.RegistryHost())
	}
}
