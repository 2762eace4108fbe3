package main

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestECRLoginPrintsOnlyThePasswordOrTheRegistry(t *testing.T) {
	emu := emutest.Start(t)
	tok, err := ecr.NewFromConfig(emu.AWSConfig()).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*tok.AuthorizationData[0].AuthorizationToken)
	_, wantPassword, _ := strings.Cut(string(raw), ":")

	env := emuEnv(t, nil)
	stdout, stderr, code := kmdeploy(t, env, "ecr-login")
	if code != 0 || stdout != wantPassword || wantPassword == "" {
		t.Fatalf("ecr-login: exit %d, stdout %q (want exactly the token's password)\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = kmdeploy(t, env, "ecr-login", "--registry")
	if code != 0 || strings.TrimSpace(stdout) != emu.RegistryHost() {
		t.Fatalf("ecr-login --registry: exit %d, stdout %q, want %s\n%s", code, stdout, emu.RegistryHost(), stderr)
	}
}
