# The migration hook (CodeDeploy lifecycle hook: runs the migrate task on the new task
# definition, waits for it, reports the result) and the background jobs (scheduled: runs
# the jobs task on the revision the service runs now, waits, checks the exit code).
# Both run outside the VPC: they only call AWS APIs.

locals {
  lambda_dist_dir = coalesce(var.lambda_dist_dir, "${path.module}/../dist/lambdas")
  migrate_zip     = "${local.lambda_dist_dir}/migrate-${var.lambda_architecture}.zip"
  jobs_zip        = "${local.lambda_dist_dir}/jobs-${var.lambda_architecture}.zip"

  migrate_function_name = "${local.name}-migrate"
  jobs_function_name    = "${local.name}-jobs"

  task_family_arn = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.task_family}:*"
  cluster_tasks   = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"

  # What both functions need to run a one-off task like the service's.
  task_launch_environment = {
    CLUSTER          = aws_ecs_cluster.main.name
    SUBNETS          = join(",", local.private_subnet_ids)
    SECURITY_GROUPS  = aws_security_group.tasks.id
    CONTAINER_NAME   = var.container_name
    ASSIGN_PUBLIC_IP = tostring(local.task_assign_public_ip) # "true"/"false", parsed as a bool
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Starting a task of the API family hands its roles to ECS: what RunTask (the Lambdas,
# the CI role) and CodeDeploy's replacement task sets both need.
data "aws_iam_policy_document" "pass_task_roles" {
  statement {
    sid       = "PassTaskRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task_execution.arn, aws_iam_role.task.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Running a one-off task of the API family in this cluster and watching it: what the
# migration hook, the jobs function and the CI role (kmdeploy run/migrate) all do.
data "aws_iam_policy_document" "run_api_task" {
  source_policy_documents = [data.aws_iam_policy_document.pass_task_roles.json]

  statement {
    sid       = "RunApiTask"
    actions   = ["ecs:RunTask"]
    resources = [local.task_family_arn]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }
  statement {
    sid       = "WatchApiTasks"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.cluster_tasks]
  }
  statement {
    # Finding a task already started for the same request (a retried hook adopts it
    # instead of migrating twice) or still running (overlapping jobs).
    sid       = "FindApiTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"] # ecs:ListTasks is scoped by the condition below, not by resource.
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }
}

# What both Lambdas add to that: read the task definition they run, to find the task's
# log stream (the jobs function reports where it is; the hook reads the failed
# migration's last lines from it).
data "aws_iam_policy_document" "lambda_run_api_task" {
  source_policy_documents = [data.aws_iam_policy_document.run_api_task.json]

  statement {
    sid       = "DescribeTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"] # ecs:DescribeTaskDefinition has no resource-level permissions.
  }
}

# ---- Migration hook ------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "migrate" {
  name              = "/aws/lambda/${local.migrate_function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "migrate" {
  name               = "${local.name}-migrate-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "migrate" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_run_api_task.json]

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.migrate.arn}:*"]
  }
  statement {
    # A failed migration's last log lines, for the deployment's failure message.
    sid       = "ReadTaskLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
  }
  statement {
    sid       = "ReadDeployment"
    actions   = ["codedeploy:GetDeployment"]
    resources = [local.deployment_group_arn]
  }
  statement {
    sid       = "ReportHookStatus"
    actions   = ["codedeploy:PutLifecycleEventHookExecutionStatus"]
    resources = [local.deployment_group_arn]
  }
}

resource "aws_iam_role_policy" "migrate" {
  name   = "migrate-hook"
  role   = aws_iam_role.migrate.id
  policy = data.aws_iam_policy_document.migrate.json
}

resource "aws_lambda_function" "migrate" {
  function_name    = local.migrate_function_name
  description      = "CodeDeploy ${var.migration_hook_event} hook: runs database migrations on the new API version"
  role             = aws_iam_role.migrate.arn
  filename         = local.migrate_zip
  source_code_hash = filebase64sha256(local.migrate_zip)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  memory_size      = 128
  timeout          = var.migrate_timeout_seconds

  environment {
    variables = merge(local.task_launch_environment, {
      MIGRATE_COMMAND = var.migrate_command
    })
  }

  depends_on = [aws_cloudwatch_log_group.migrate, aws_iam_role_policy.migrate]
}

# ---- Background jobs -----------------------------------------------------------------

resource "aws_cloudwatch_log_group" "jobs" {
  name              = "/aws/lambda/${local.jobs_function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "jobs" {
  name               = "${local.name}-jobs-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "jobs" {
  source_policy_documents = [data.aws_iam_policy_document.lambda_run_api_task.json]

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.jobs.arn}:*"]
  }
  statement {
    sid       = "ReadService"
    actions   = ["ecs:DescribeServices"]
    resources = [aws_ecs_service.api.id]
  }
}

resource "aws_iam_role_policy" "jobs" {
  name   = "background-jobs"
  role   = aws_iam_role.jobs.id
  policy = data.aws_iam_policy_document.jobs.json
}

resource "aws_lambda_function" "jobs" {
  function_name    = local.jobs_function_name
  description      = "Runs the API's background jobs on the version the service runs now"
  role             = aws_iam_role.jobs.arn
  filename         = local.jobs_zip
  source_code_hash = filebase64sha256(local.jobs_zip)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  memory_size      = 128
  timeout          = var.jobs_timeout_seconds

  environment {
    variables = merge(local.task_launch_environment, {
      SERVICE      = aws_ecs_service.api.name
      JOBS_COMMAND = var.jobs_command
    })
  }

  depends_on = [aws_cloudwatch_log_group.jobs, aws_iam_role_policy.jobs]
}

# A failed run is picked up by the next tick: Lambda must not retry it (by default it
# retries an asynchronous invocation twice), which would overlap the next run.
resource "aws_lambda_function_event_invoke_config" "jobs" {
  function_name                = aws_lambda_function.jobs.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}

resource "aws_cloudwatch_event_rule" "jobs" {
  name                = "${local.name}-jobs"
  description         = "Schedule of the Know Me ${local.environment} background jobs"
  schedule_expression = var.jobs_schedule
  state               = var.jobs_enabled ? "ENABLED" : "DISABLED"
}

resource "aws_cloudwatch_event_target" "jobs" {
  rule = aws_cloudwatch_event_rule.jobs.name
  arn  = aws_lambda_function.jobs.arn

  retry_policy {
    # EventBridge's own delivery retries; Lambda's are off in the event invoke config.
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 300
  }
}

resource "aws_lambda_permission" "jobs_schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.jobs.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.jobs.arn
}
