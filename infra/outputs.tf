# Everything kmdeploy and the Lambdas need, by the names in the `output` tags of
# config.Resources (internal/config/resources.go). No output holds a secret: credentials
# are referenced by secret ARN only.

output "environment" {
  description = "Environment name (the Terraform workspace)."
  value       = local.environment
}

output "region" {
  description = "AWS region of the environment."
  value       = local.region
}

# ---- API service ---------------------------------------------------------------------

output "cluster_name" {
  description = "ECS cluster of the API service and its one-off tasks."
  value       = aws_ecs_cluster.main.name
}

output "service_name" {
  description = "ECS service of the API (deployment controller CODE_DEPLOY)."
  value       = aws_ecs_service.api.name
}

output "task_family" {
  description = "Task definition family of the API; deployments register new revisions in it."
  value       = aws_ecs_task_definition.api.family
}

output "task_definition_arn" {
  description = "Task definition revision Terraform registered (environment, secrets, size, roles); each rollout registers a copy of it with the new image."
  value       = aws_ecs_task_definition.api.arn
}

output "container_name" {
  description = "Name of the API container in the task definition."
  value       = var.container_name
}

output "container_port" {
  description = "Port the API container listens on."
  value       = var.container_port
}

output "task_subnet_ids" {
  description = "Subnets for API tasks (service, migrations, jobs, run-task)."
  value       = local.private_subnet_ids
}

output "task_security_group_ids" {
  description = "Security groups for API tasks."
  value       = [aws_security_group.tasks.id]
}

output "task_assign_public_ip" {
  description = "Whether one-off tasks need a public IP (true only with use_default_vpc, whose subnets have no NAT)."
  value       = local.task_assign_public_ip
}

output "ecr_repository_url" {
  description = "ECR repository URL of the API image."
  value       = aws_ecr_repository.api.repository_url
}

output "log_group_name" {
  description = "CloudWatch log group of the API containers (service and one-off tasks)."
  value       = aws_cloudwatch_log_group.api.name
}

# ---- Load balancer and CodeDeploy ----------------------------------------------------

output "prod_listener_arn" {
  description = "ALB listener serving production traffic (HTTPS)."
  value       = aws_lb_listener.https.arn
}

output "test_listener_arn" {
  description = "ALB test listener CodeDeploy routes to the replacement tasks."
  value       = aws_lb_listener.test.arn
}

output "target_group_blue_arn" {
  description = "First target group of the blue/green pair (the service's initial one)."
  value       = aws_lb_target_group.api["blue"].arn
}

output "target_group_green_arn" {
  description = "Second target group of the blue/green pair."
  value       = aws_lb_target_group.api["green"].arn
}

output "codedeploy_app_name" {
  description = "CodeDeploy application of the API."
  value       = aws_codedeploy_app.api.name
}

output "codedeploy_deployment_group_name" {
  description = "CodeDeploy deployment group of the API service."
  value       = aws_codedeploy_deployment_group.api.deployment_group_name
}

output "migration_hook_event" {
  description = "AppSpec lifecycle event at which kmdeploy wires the migration hook."
  value       = var.migration_hook_event
}

output "api_url" {
  description = "Public URL of the API."
  value       = "https://${local.api_domain}"
}

# ---- Lambdas -------------------------------------------------------------------------

output "migrate_lambda_name" {
  description = "Migration hook Lambda, named in the AppSpec's Hooks section."
  value       = aws_lambda_function.migrate.function_name
}

output "jobs_lambda_name" {
  description = "Background jobs Lambda."
  value       = aws_lambda_function.jobs.function_name
}

output "jobs_schedule_rule_name" {
  description = "EventBridge rule that schedules the background jobs."
  value       = aws_cloudwatch_event_rule.jobs.name
}

# ---- Web -----------------------------------------------------------------------------

output "web_bucket_name" {
  description = "S3 bucket the web bundle is published to."
  value       = aws_s3_bucket.web.id
}

output "cloudfront_distribution_id" {
  description = "CloudFront distribution serving the web app (invalidated after publishing)."
  value       = aws_cloudfront_distribution.web.id
}

output "cloudfront_domain_name" {
  description = "CloudFront domain of the distribution (the custom domain points at it)."
  value       = aws_cloudfront_distribution.web.domain_name
}

output "web_url" {
  description = "Public URL of the web app."
  value       = "https://${local.web_domain}"
}

# ---- Data ----------------------------------------------------------------------------

output "media_bucket_name" {
  description = "S3 bucket of user media."
  value       = aws_s3_bucket.media.id
}

output "db_instance_id" {
  description = "RDS instance identifier."
  value       = aws_db_instance.main.identifier
}

output "db_endpoint" {
  description = "Database host:port (private; reachable from API tasks only)."
  value       = aws_db_instance.main.endpoint
}

output "db_name" {
  description = "Name of the application database."
  value       = var.db_name
}

output "db_admin_secret_arn" {
  description = "Secrets Manager secret of the database admin credentials (JSON: username, password, host, port, dbname)."
  value       = aws_secretsmanager_secret.db_admin.arn
}

output "db_app_secret_arn" {
  description = "Secrets Manager secret of the API's database credentials (JSON: username, password, host, port, dbname)."
  value       = aws_secretsmanager_secret.db_app.arn
}

# ---- CI ------------------------------------------------------------------------------

output "github_actions_role_arn" {
  description = "Role GitHub Actions assumes through OIDC to deploy this environment."
  value       = aws_iam_role.github_actions.arn
}
