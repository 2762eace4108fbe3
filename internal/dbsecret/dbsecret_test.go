package dbsecret_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/knowmetools/km-release/internal/dbsecret"
	"github.com/knowmetools/km-release/testrig/awsemu/emutest"
)

func TestMain(m *testing.M) { emutest.Main(m) }

func TestReadParsesRDSShapeAndHidesPassword(t *testing.T) {
	ctx := context.Background()
	emu := emutest.Start(t)
	sm := secretsmanager.NewFromConfig(emu.AWSConfig())
	name := emutest.UniqueName(t)
	for id, body := range map[string]string{
		name + "-num": `{"username":"admin","password":"pw-123-secret","host":"db.internal","port":5433,"dbname":"knowme"}`,
		name + "-str": `{"username":"admin","password":"pw-123-secret","host":"db.internal","port":"5433","dbname":"knowme"}`,
		name + "-bad": `not json pw-123-secret`,
	} {
		if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{name + "-num", name + "-str"} {
		c, err := dbsecret.Read(ctx, sm, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Username != "admin" || c.Password != "pw-123-secret" || c.Port != 5433 || c.DBName != "knowme" {
			t.Fatalf("%s: %+v", id, c)
		}
		if strings.Contains(c.String(), "pw-123") {
			t.Fatalf("String() shows the password: %s", c)
		}
	}
	_, err := dbsecret.Read(ctx, sm, name+"-bad")
	if err == nil || strings.Contains(err.Error(), "pw-123") {
		t.Fatalf("bad secret: err = %v, want an error without the value", err)
	}
	if _, err := dbsecret.Read(ctx, sm, name+"-missing"); err == nil || !strings.Contains(err.Error(), name+"-missing") {
		t.Fatalf("missing secret: err = %v, want it named", err)
	}
}
