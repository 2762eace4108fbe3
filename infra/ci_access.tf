# The role GitHub Actions assumes through OIDC: short-lived credentials for this
# repository's runs in this environment only, with the permissions kmdeploy needs to
# deploy (image push, task definitions, CodeDeploy, web publish, runbooks). Running
# `terraform apply` needs far more; grant that separately through
# github_actions_extra_policy_arns (see docs/infra.md).

locals {
  github_oidc_url          = "https://token.actions.githubusercontent.com"
  github_oidc_provider_arn = var.manage_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  github_environment       = coalesce(var.github_environment, local.environment)
  github_subjects = concat(
    ["repo:${var.github_repository}:environment:${local.github_environment}"],
    [for b in var.github_branches : "repo:${var.github_repository}:ref:refs/heads/${b}"],
  )
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.manage_github_oidc_provider ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's certificate authority itself; the list is still required by the API.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.manage_github_oidc_provider ? 0 : 1
  url   = local.github_oidc_url
}

data "aws_iam_policy_document" "github_actions_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = local.github_subjects
    }
  }
}

resource "aws_iam_role" "github_actions" {
  name                 = "${local.name}-github-actions"
  description          = "GitHub Actions (${var.github_repository}) deploying Know Me ${local.environment}"
  assume_role_policy   = data.aws_iam_policy_document.github_actions_assume.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "github_actions" {
  # Run and watch one-off API tasks (kmdeploy migrate/run), like the Lambdas (lambdas.tf).
  source_policy_documents = [data.aws_iam_policy_document.run_api_task.json]

  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # account-wide token; the repository statements below scope access.
  }
  statement {
    sid = "EcrPushPull"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      "ecr:DescribeImages", "ecr:DescribeRepositories",
    ]
    resources = [aws_ecr_repository.api.arn]
  }
  dynamic "statement" {
    # Promotion copies the image that passed another environment (e.g. staging) here.
    for_each = length(var.promote_source_repository_arns) > 0 ? [1] : []
    content {
      sid       = "EcrPromoteSource"
      actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"]
      resources = var.promote_source_repository_arns
    }
  }
  statement {
    sid       = "EcsNoResourceLevel"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeRules"]
    resources = ["*"] # these actions have no resource-level permissions.
  }
  statement {
    sid       = "EcsService"
    actions   = ["ecs:DescribeServices", "ecs:DescribeClusters"]
    resources = [aws_ecs_service.api.id, aws_ecs_cluster.main.arn]
  }
  statement {
    sid       = "EcsTagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_tasks, "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${local.task_family}:*"]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask", "RegisterTaskDefinition"]
    }
  }
  statement {
    sid = "CodeDeployGroup"
    actions = [
      "codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:StopDeployment",
      "codedeploy:ContinueDeployment", "codedeploy:ListDeployments", "codedeploy:GetDeploymentGroup",
      "codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget",
    ]
    resources = [local.deployment_group_arn]
  }
  statement {
    sid       = "CodeDeployApplication"
    actions   = ["codedeploy:GetApplication", "codedeploy:RegisterApplicationRevision", "codedeploy:GetApplicationRevision"]
    resources = [aws_codedeploy_app.api.arn]
  }
  statement {
    sid       = "CodeDeployConfig"
    actions   = ["codedeploy:GetDeploymentConfig"]
    resources = ["arn:${local.partition}:codedeploy:${local.region}:${local.account_id}:deploymentconfig:*"]
  }
  statement {
    sid       = "WebBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.web.arn]
  }
  statement {
    sid       = "WebObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.web.arn}/*"]
  }
  statement {
    sid       = "CloudFront"
    actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation", "cloudfront:ListInvalidations", "cloudfront:GetDistribution"]
    resources = [aws_cloudfront_distribution.web.arn]
  }
  statement {
    sid       = "Lambdas"
    actions   = ["lambda:InvokeFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration"]
    resources = [aws_lambda_function.migrate.arn, aws_lambda_function.jobs.arn]
  }
  statement {
    sid       = "JobsSchedule"
    actions   = ["events:DescribeRule", "events:EnableRule", "events:DisableRule"]
    resources = [aws_cloudwatch_event_rule.jobs.arn]
  }
  statement {
    sid       = "ReadLogs"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*", "${aws_cloudwatch_log_group.migrate.arn}:*", "${aws_cloudwatch_log_group.jobs.arn}:*"]
  }
  statement {
    sid       = "DatabaseSnapshots"
    actions   = ["rds:DescribeDBInstances", "rds:CreateDBSnapshot", "rds:DescribeDBSnapshots"]
    resources = [aws_db_instance.main.arn, "arn:${local.partition}:rds:${local.region}:${local.account_id}:snapshot:${local.name}-*"]
  }
  dynamic "statement" {
    for_each = var.state_bucket == null ? [] : [1]
    content {
      sid       = "StateList"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${local.partition}:s3:::${var.state_bucket}"]
    }
  }
  dynamic "statement" {
    # The workspace's state and its lock file (use_lockfile) live under env:/<workspace>/.
    for_each = var.state_bucket == null ? [] : [1]
    content {
      sid       = "StateObjects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["arn:${local.partition}:s3:::${var.state_bucket}/env:/${local.environment}/*"]
    }
  }
}

resource "aws_iam_role_policy" "github_actions" {
  name   = "deploy"
  role   = aws_iam_role.github_actions.id
  policy = data.aws_iam_policy_document.github_actions.json
}

resource "aws_iam_role_policy_attachment" "github_actions_extra" {
  for_each = toset(var.github_actions_extra_policy_arns)

  role       = aws_iam_role.github_actions.name
  policy_arn = each.value
}
