package infracheck_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/internal/infracheck"
)

// mutation breaks infra/ in one way the issue forbids; the named check must notice.
type mutation struct {
	name      string
	file      string
	old, new  string // old == "": append new to the file
	check     string
	wantInMsg string
}

var mutations = []mutation{
	{"missing output", "outputs.tf", `output "cluster_name" {`, `output "cluster" {`, "outputs", `"cluster_name" is missing`},
	{"variable without description", "variables.tf", "  description = \"Prefix of every resource name; the workspace (environment) name is appended.\"\n", "", "variables", `"name_prefix" has no description`},
	{"variable without type", "variables.tf", "  type        = map(string)\n  default     = {}\n}\n\n# ---- DNS", "  default     = {}\n}\n\n# ---- DNS", "variables", `"tags" has no type`},
	{"secret variable not sensitive", "variables.tf", "  default     = {}\n  sensitive   = true\n", "  default     = {}\n", "sensitive-variables", `"api_secrets" looks like a secret`},
	{"new password variable", "variables.tf", "", "variable \"db_password\" {\n  description = \"x\"\n  type = string\n}\n", "sensitive-variables", `"db_password"`},
	{"ALB open on another port", "network.tf", "  from_port         = 443\n  to_port           = 443\n", "  from_port         = 8080\n  to_port           = 8080\n", "world-ingress", "whole internet"},
	{"database open to the world", "network.tf", "  to_port                      = 5432\n  referenced_security_group_id = aws_security_group.tasks.id\n", "  to_port                      = 5432\n  cidr_ipv4 = \"0.0.0.0/0\"\n", "world-ingress", "aws_vpc_security_group_ingress_rule.db_from_tasks allows ingress from the whole internet"},
	{"inline world rule on tasks", "network.tf", "", "resource \"aws_security_group_rule\" \"bad\" {\n  type = \"ingress\"\n  security_group_id = aws_security_group.tasks.id\n  from_port = 443\n  to_port = 443\n  protocol = \"tcp\"\n  cidr_blocks = [\"10.0.0.0/8\", \"0.0.0.0/0\"]\n}\n", "world-ingress", "aws_security_group_rule.bad allows ingress"},
	{"inline ipv6 world ingress", "network.tf", "", "resource \"aws_security_group\" \"bad\" {\n  ingress {\n    from_port = 22\n    to_port = 22\n    protocol = \"tcp\"\n    ipv6_cidr_blocks = [\"::/0\"]\n  }\n}\n", "world-ingress", "aws_security_group.bad ingress allows ingress"},
	{"unguarded CIDR variable", "variables.tf", ` && c != "0.0.0.0/0"`, "", "world-ingress", "var.test_listener_cidrs feeds an ingress CIDR"},
	{"public database", "data.tf", "publicly_accessible    = false", "publicly_accessible    = true", "database", "publicly_accessible = false"},
	{"unencrypted database", "data.tf", "storage_encrypted     = true", "storage_encrypted     = false", "database", "storage_encrypted = true"},
	{"no backups", "data.tf", "backup_retention_period    = var.db_backup_retention_days", "backup_retention_period    = 0", "database", "backup_retention_period must be at least 1"},
	{"database in public subnets", "data.tf", "subnet_ids = local.private_subnet_ids", "subnet_ids = local.public_subnet_ids", "database", "uses the public subnets"},
	{"no production deletion protection", "data.tf", "deletion_protection       = local.is_production", "deletion_protection       = false", "environment-protection", "deletion_protection must be true in production"},
	{"disposable bucket not destroyable", "web.tf", "force_destroy = !local.is_production", "force_destroy = false", "environment-protection", "aws_s3_bucket.web: force_destroy"},
	{"rolling ECS deployments", "api.tf", `type = "CODE_DEPLOY"`, `type = "ECS"`, "ecs-blue-green", "CODE_DEPLOY"},
	{"service reverts deployments", "api.tf", "ignore_changes = [task_definition, load_balancer]", "ignore_changes = [task_definition]", "ecs-blue-green", "must include load_balancer"},
	{"listener reverts deployments", "alb.tf", "ignore_changes = [default_action]", "ignore_changes = []", "ecs-blue-green", "aws_lb_listener.https: CodeDeploy switches this listener"},
	{"health check skips migrations", "alb.tf", `path                = "/status/"`, `path                = "/"`, "ecs-blue-green", "health check path must be /status/"},
	{"no automatic rollback", "codedeploy.tf", "  auto_rollback_configuration {\n    enabled = true", "  auto_rollback_configuration {\n    enabled = false", "ecs-blue-green", "auto_rollback_configuration must be enabled"},
	{"password in environment", "api.tf", "    DATABASE_ADMIN_USER             = var.db_admin_username\n", "    DATABASE_ADMIN_USER             = var.db_admin_username\n    DB_PASS = random_password.db_admin.result\n", "task-secrets", "random_password.db_admin reaches the container's plain environment"},
	{"secret-named environment variable", "api.tf", "    DATABASE_ADMIN_USER             = var.db_admin_username\n", "    DATABASE_ADMIN_USER             = var.db_admin_username\n    STRIPE_API_KEY = \"sk_live\"\n", "task-secrets", "STRIPE_API_KEY looks like a secret"},
	{"admin password not injected", "api.tf", "      { name = \"ADMIN_PASSWORD\", valueFrom = \"${aws_secretsmanager_secret.app.arn}:admin_password::\" },\n", "", "task-secrets", "needs ADMIN_PASSWORD in `secrets`"},
	{"web bucket public policy allowed", "buckets.tf", "  block_public_policy     = true", "  block_public_policy     = false", "buckets-private", "(aws_s3_bucket.web): block_public_policy must be true"},
	{"web bucket without public access block", "buckets.tf", "    web   = aws_s3_bucket.web\n", "", "buckets-private", "aws_s3_bucket.web has no aws_s3_bucket_public_access_block"},
	{"shared public access block on one bucket only", "buckets.tf", "  bucket                  = each.value.id", "  bucket                  = aws_s3_bucket.media.id", "buckets-private", "aws_s3_bucket.web has no aws_s3_bucket_public_access_block"},
	{"new bucket left out of the shared settings", "web.tf", "", "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"x\"\n  force_destroy = !local.is_production\n}\n", "buckets-private", "aws_s3_bucket.logs has no aws_s3_bucket_public_access_block"},
	{"shared bucket policy statement allows anyone", "buckets.tf", "    effect    = \"Deny\"", "    effect    = \"Allow\"", "buckets-private", "data.aws_iam_policy_document.deny_insecure_transport allows an anonymous principal"},
	{"moved to an undeclared address", "buckets.tf", "  to   = aws_s3_bucket_versioning.private[\"web\"]", "  to   = aws_s3_bucket_versioning.shared[\"web\"]", "references", "aws_s3_bucket_versioning.shared is not declared"},
	{"anonymous bucket read", "web.tf", "      type        = \"Service\"\n      identifiers = [\"cloudfront.amazonaws.com\"]", "      type        = \"*\"\n      identifiers = [\"*\"]", "buckets-private", "allows an anonymous principal"},
	{"legacy OAI origin", "web.tf", "    origin_access_control_id = aws_cloudfront_origin_access_control.web.id\n", "    s3_origin_config {\n      origin_access_identity = \"x\"\n    }\n", "cloudfront-oac", "s3_origin_config"},
	{"OAI resource", "web.tf", "", "resource \"aws_cloudfront_origin_access_identity\" \"web\" {}\n", "cloudfront-oac", "origin access identities are legacy"},
	{"plain HTTP viewers", "web.tf", `viewer_protocol_policy     = "redirect-to-https"`, `viewer_protocol_policy     = "allow-all"`, "cloudfront-oac", "viewer_protocol_policy"},
	{"no SPA fallback for 404", "web.tf", "error_code            = 404", "error_code            = 500", "cloudfront-oac", "single-page app fallback"},
	{"wildcard Lambda action", "lambdas.tf", `actions   = ["ecs:RunTask"]`, `actions   = ["ecs:*"]`, "lambda-iam", `action "ecs:*" is a wildcard`},
	{"star action", "lambdas.tf", `actions   = ["ecs:DescribeServices"]`, `actions   = ["*"]`, "lambda-iam", `action "*" is a wildcard`},
	{"shared PassRole to any service", "lambdas.tf", "      variable = \"iam:PassedToService\"", "      variable = \"iam:Foo\"", "lambda-iam", "data.aws_iam_policy_document.run_api_task: iam:PassRole needs condition"},
	{"PassRole on anything", "lambdas.tf", "    resources = [aws_iam_role.task_execution.arn, aws_iam_role.task.arn]\n", "    resources = [\"*\"]\n", "lambda-iam", "iam:PassRole on \"*\""},
	{"managed policy on a Lambda role", "lambdas.tf", "", "resource \"aws_iam_role_policy_attachment\" \"bad\" {\n  role = aws_iam_role.jobs.name\n  policy_arn = \"arn:aws:iam::aws:policy/AdministratorAccess\"\n}\n", "lambda-iam", "attaches a managed policy to aws_iam_role.jobs"},
	{"unreadable inline policy", "lambdas.tf", "  policy = data.aws_iam_policy_document.migrate.json", "  policy = jsonencode({})", "lambda-iam", "write the policy as a data"},
	{"hook without its command", "lambdas.tf", "      MIGRATE_COMMAND = var.migrate_command\n", "", "lambda-contract", "MIGRATE_COMMAND is missing"},
	{"public IP flag not a bool", "lambdas.tf", "tostring(local.task_assign_public_ip)", "local.task_assign_public_ip ? \"ENABLED\" : \"DISABLED\"", "lambda-contract", "ASSIGN_PUBLIC_IP must be"},
	{"wrong Lambda runtime", "lambdas.tf", "runtime          = \"provided.al2023\"", "runtime          = \"go1.x\"", "lambda-contract", "provided.al2023"},
	{"x86 Lambdas by default", "variables.tf", "  default     = \"arm64\"", "  default     = \"x86_64\"", "lambda-contract", "arm64"},
	{"any repository may assume the CI role", "ci_access.tf", "values   = local.github_subjects", "values   = [\"repo:knowmetools/*\"]", "ci-oidc", "without wildcards"},
	{"CI trust without audience", "ci_access.tf", "      variable = \"token.actions.githubusercontent.com:aud\"", "      variable = \"token.actions.githubusercontent.com:foo\"", "ci-oidc", ":aud = sts.amazonaws.com"},
	{"backend configured in code", "versions.tf", `backend "s3" {}`, "backend \"s3\" {\n    bucket = \"x\"\n  }", "backend", "partial configuration"},
	{"no backend", "versions.tf", `backend "s3" {}`, "", "backend", `no backend "s3" block`},
	{"undeclared variable", "api.tf", "retention_in_days = var.log_retention_days", "retention_in_days = var.log_retention", "references", "var.log_retention is not declared"},
	{"undeclared resource", "outputs.tf", "aws_ecs_cluster.main.name", "aws_ecs_cluster.primary.name", "references", "aws_ecs_cluster.primary is not declared"},
	{"output exposes a password", "outputs.tf", "", "output \"admin_password\" {\n  description = \"x\"\n  value = random_password.admin.result\n}\n", "output-secrets", "exposes random_password.admin"},
}

func TestMutationsAreCaught(t *testing.T) {
	required := infracheck.OutputTags(config.Resources{})
	checks := map[string]infracheck.Check{}
	for _, c := range infracheck.Checks(required) {
		checks[c.Name] = c
	}
	srcs := readInfra(t)
	for _, mu := range mutations {
		t.Run(mu.name, func(t *testing.T) {
			c, ok := checks[mu.check]
			if !ok {
				t.Fatalf("no check %q", mu.check)
			}
			mutated := map[string][]byte{}
			for k, v := range srcs {
				mutated[k] = v
			}
			path := filepath.Join(infraDir, mu.file)
			src := string(srcs[path])
			if mu.old == "" {
				src += "\n" + mu.new
			} else {
				if n := strings.Count(src, mu.old); n == 0 {
					t.Fatalf("mutation is stale: %q not found in %s", mu.old, mu.file)
				}
				src = strings.Replace(src, mu.old, mu.new, 1)
			}
			mutated[path] = []byte(src)
			m, err := infracheck.Parse(mutated)
			if err != nil {
				t.Fatal(err)
			}
			findings := c.Run(m)
			for _, f := range findings {
				if strings.Contains(f.Message, mu.wantInMsg) {
					return
				}
			}
			t.Errorf("check %s did not report %q; findings: %v", mu.check, mu.wantInMsg, findings)
		})
	}
}

func readInfra(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(infraDir, "*.tf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Terraform files in %s: %v", infraDir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	return out
}
