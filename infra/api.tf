# The API: image repository, cluster, task definition and the blue/green service.

resource "aws_ecr_repository" "api" {
  name                 = "${local.name}-api"
  image_tag_mutability = var.ecr_image_tag_mutability
  # Disposable environments must be destroyable with images still in them.
  force_delete = !local.is_production

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "api" {
  repository = aws_ecr_repository.api.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged images (superseded pushes) after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the last ${var.ecr_keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/ecs/${local.name}-api"
  retention_in_days = var.log_retention_days
}

locals {
  task_family = "${local.name}-api"
  api_image   = coalesce(var.api_image, "${aws_ecr_repository.api.repository_url}:bootstrap")
  admin_email = coalesce(var.admin_email, "admin@${var.dns_zone_name}")

  # Plain configuration only: every credential is in `secrets` below.
  api_environment = merge(var.api_environment, {
    DJANGO_ALLOWED_HOSTS            = local.api_domain
    DJANGO_DB_HOST                  = aws_db_instance.main.address
    DJANGO_DB_PORT                  = tostring(aws_db_instance.main.port)
    DJANGO_DB_NAME                  = var.db_name
    DJANGO_DB_USER                  = var.db_app_username
    DATABASE_ADMIN_USER             = var.db_admin_username
    ADMIN_EMAIL                     = local.admin_email
    DJANGO_AWS_STORAGE_BUCKET_NAME  = aws_s3_bucket.media.id
    DJANGO_AWS_REGION               = local.region
    DJANGO_HTTPS                    = "True"
    DJANGO_WEB_APP_URL              = "https://${local.web_domain}"
    DJANGO_ENVIRONMENT              = local.environment
    DJANGO_USE_X_FORWARDED_PROTOCOL = "True"
  })

  # ECS resolves each valueFrom when a task starts ("<secret arn>:<json key>::"), so the
  # migrate task gets the admin credentials without plaintext container overrides.
  api_secrets = concat(
    [
      { name = "DJANGO_SECRET_KEY", valueFrom = "${aws_secretsmanager_secret.app.arn}:django_secret_key::" },
      { name = "ADMIN_PASSWORD", valueFrom = "${aws_secretsmanager_secret.app.arn}:admin_password::" },
      { name = "DJANGO_DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.db_app.arn}:password::" },
      { name = "DATABASE_ADMIN_PASSWORD", valueFrom = "${aws_secretsmanager_secret.db_admin.arn}:password::" },
    ],
    # Only the names are needed here; the values stay in the secret.
    [for k in sort(nonsensitive(keys(var.api_secrets))) : { name = k, valueFrom = "${aws_secretsmanager_secret.api_extra.arn}:${k}::" }],
  )
}

resource "aws_ecs_task_definition" "api" {
  family                   = local.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.task_execution.arn
  task_role_arn            = aws_iam_role.task.arn
  # Deployments register newer revisions; keep old ones so rollbacks can return to them.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.api_cpu_architecture
  }

  container_definitions = jsonencode([
    {
      name              = var.container_name
      image             = local.api_image
      essential         = true
      command           = ["server"]
      memoryReservation = floor(var.api_memory * 3 / 4)
      portMappings = [
        { containerPort = var.container_port, protocol = "tcp" },
      ]
      environment = [for k in sort(keys(local.api_environment)) : { name = k, value = local.api_environment[k] }]
      secrets     = local.api_secrets
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.api.name
          awslogs-region        = local.region
          awslogs-stream-prefix = "api"
        }
      }
      readonlyRootFilesystem = false
      stopTimeout            = 30
    },
  ])
}

resource "aws_ecs_service" "api" {
  name                              = "${local.name}-api"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.api.arn
  desired_count                     = coalesce(var.api_desired_count, local.is_production ? 2 : 1)
  launch_type                       = "FARGATE"
  platform_version                  = "LATEST"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"
  enable_ecs_managed_tags           = true

  # CodeDeploy owns rollouts: it creates the replacement task set and moves the listener.
  deployment_controller {
    type = "CODE_DEPLOY"
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api["blue"].arn
    container_name   = var.container_name
    container_port   = var.container_port
  }

  network_configuration {
    subnets          = local.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = local.task_assign_public_ip
  }

  lifecycle {
    # Every deployment changes both (new revision, target group swapped); Terraform must
    # not try to undo them, and cannot (UpdateService rejects them on CODE_DEPLOY services).
    ignore_changes = [task_definition, load_balancer]
  }

  depends_on = [aws_lb_listener.https, aws_lb_listener.test]
}

# ---- Task roles ----------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

# Used by ECS itself to pull the image, write logs and resolve the task's secrets.
resource "aws_iam_role" "task_execution" {
  name               = "${local.name}-api-task-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task_execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.api.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.api.arn}:*"]
  }
  statement {
    sid     = "Secrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = [
      aws_secretsmanager_secret.app.arn,
      aws_secretsmanager_secret.db_app.arn,
      aws_secretsmanager_secret.db_admin.arn,
      aws_secretsmanager_secret.api_extra.arn,
    ]
  }
}

resource "aws_iam_role_policy" "task_execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.task_execution.id
  policy = data.aws_iam_policy_document.task_execution.json
}

# The application's own identity: user media in S3.
resource "aws_iam_role" "task" {
  name               = "${local.name}-api-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "MediaBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.media.arn]
  }
  statement {
    sid       = "MediaObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "media"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
