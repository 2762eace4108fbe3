# The role GitHub Actions assumes through OIDC: short-lived credentials for this
# repository's runs in this environment only, with exactly what the pipeline's kmdeploy
# commands call (image push, rollout and rollback, run-task, publish-web, status),
# measured by the rehearsal (docs/infra.md, "Least privilege"). Running `terraform
# apply` needs far more; grant that separately through github_actions_extra_policy_arns.
# The runbooks (maintenance, db backup/restore, bucket copy) are an operator's.

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
      "ecr:CompleteLayerUpload", "ecr:PutImage",
      "ecr:BatchGetImage", # kmdeploy rollout checks that the image exists
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
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "elasticloadbalancing:DescribeTargetHealth"]
    resources = ["*"] # these actions have no resource-level permissions.
  }
  statement {
    sid       = "EcsService"
    actions   = ["ecs:DescribeServices"]
    resources = [aws_ecs_service.api.id]
  }
  statement {
    sid       = "EcsTagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.task_family_arn] # the new revision carries the service's tags
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RegisterTaskDefinition"]
    }
  }
  statement {
    sid = "CodeDeployGroup"
    actions = [
      "codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:ListDeployments",
      "codedeploy:ListDeploymentTargets", "codedeploy:GetDeploymentTarget",
      "codedeploy:StopDeployment", # kmdeploy rollback, and a cancelled rollout
    ]
    resources = [local.deployment_group_arn]
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
    actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    resources = [aws_cloudfront_distribution.web.arn]
  }
  statement {
    sid       = "ReadLogs"
    actions   = ["logs:GetLogEvents"] # run-task streams the task's output; rollout shows a failed task's last lines
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
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
