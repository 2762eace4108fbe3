// Package dbsecret reads database credentials from Secrets Manager, in the JSON shape RDS
// and infra/ store them ({"username", "password", "host", "port", "dbname"}).
package dbsecret

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Credentials of one database role. String() never shows the password.
type Credentials struct {
	Username string
	Password string
	Host     string
	Port     int
	DBName   string
}

func (c Credentials) String() string {
	return fmt.Sprintf("%s@%s:%d/%s (password hidden)", c.Username, c.Host, c.Port, c.DBName)
}

// API is the part of the Secrets Manager client used here.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Read fetches and parses the secret; errors name the secret, never its value.
func Read(ctx context.Context, client API, secretID string) (Credentials, error) {
	if secretID == "" {
		return Credentials{}, fmt.Errorf("no database secret configured: set KM_DB_ADMIN_SECRET_ARN / KM_DB_APP_SECRET_ARN or apply infra/ so its outputs name them")
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return Credentials{}, fmt.Errorf("reading secret %s: %w", secretID, err)
	}
	var raw struct {
		Username string          `json:"username"`
		Password string          `json:"password"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
		DBName   string          `json:"dbname"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &raw); err != nil {
		return Credentials{}, fmt.Errorf("secret %s is not JSON with username and password (as RDS stores them)", secretID)
	}
	if raw.Username == "" || raw.Password == "" {
		return Credentials{}, fmt.Errorf("secret %s lacks username or password", secretID)
	}
	c := Credentials{Username: raw.Username, Password: raw.Password, Host: raw.Host, DBName: raw.DBName, Port: 5432}
	if len(raw.Port) > 0 { // RDS writes a number; people often write a string
		var s string
		if json.Unmarshal(raw.Port, &s) != nil {
			s = string(raw.Port)
		}
		p, err := strconv.Atoi(s)
		if err != nil {
			return Credentials{}, fmt.Errorf("secret %s has a port that is not a number", secretID)
		}
		c.Port = p
	}
	return c, nil
}
