# CodeDeploy blue/green for the API service. The hooks themselves are named in each
# deployment's AppSpec (kmdeploy writes it); this file grants CodeDeploy the right to
# invoke the migration hook and publishes which lifecycle event it belongs to.

locals {
  deployment_group_arn = "arn:${local.partition}:codedeploy:${local.region}:${local.account_id}:deploymentgroup:${aws_codedeploy_app.api.name}/${local.name}-api"
}

resource "aws_codedeploy_app" "api" {
  name             = "${local.name}-api"
  compute_platform = "ECS"
}

data "aws_iam_policy_document" "codedeploy_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codedeploy.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "codedeploy" {
  name               = "${local.name}-codedeploy"
  assume_role_policy = data.aws_iam_policy_document.codedeploy_assume.json
}

# The AWS-managed role policy for ECS blue/green (task sets, listeners, alarms), in its
# limited form: AWSCodeDeployRoleForECS would also let CodeDeploy invoke every Lambda
# function in the account and pass any role to ECS.
resource "aws_iam_role_policy_attachment" "codedeploy_ecs" {
  role       = aws_iam_role.codedeploy.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSCodeDeployRoleForECSLimited"
}

# The limited policy only covers functions named CodeDeployHook_* and roles named
# ecsTaskExecutionRole: this grants exactly the project's hook and task roles instead.
data "aws_iam_policy_document" "codedeploy_hooks" {
  # The replacement task set runs with the task definition's roles.
  source_policy_documents = [data.aws_iam_policy_document.pass_task_roles.json]

  statement {
    sid       = "InvokeMigrationHook"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.migrate.arn]
  }
}

resource "aws_iam_role_policy" "codedeploy_hooks" {
  name   = "hooks"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.codedeploy_hooks.json
}

resource "aws_codedeploy_deployment_group" "api" {
  app_name               = aws_codedeploy_app.api.name
  deployment_group_name  = "${local.name}-api" # also in local.deployment_group_arn
  deployment_config_name = var.deployment_config_name
  service_role_arn       = aws_iam_role.codedeploy.arn

  deployment_style {
    deployment_type   = "BLUE_GREEN"
    deployment_option = "WITH_TRAFFIC_CONTROL"
  }

  blue_green_deployment_config {
    deployment_ready_option {
      action_on_timeout = "CONTINUE_DEPLOYMENT"
    }

    terminate_blue_instances_on_deployment_success {
      action                           = "TERMINATE"
      termination_wait_time_in_minutes = var.termination_wait_minutes
    }
  }

  ecs_service {
    cluster_name = aws_ecs_cluster.main.name
    service_name = aws_ecs_service.api.name
  }

  load_balancer_info {
    target_group_pair_info {
      prod_traffic_route {
        listener_arns = [aws_lb_listener.https.arn]
      }

      test_traffic_route {
        listener_arns = [aws_lb_listener.test.arn]
      }

      target_group {
        name = aws_lb_target_group.api["blue"].name
      }

      target_group {
        name = aws_lb_target_group.api["green"].name
      }
    }
  }

  auto_rollback_configuration {
    enabled = true
    events  = length(var.rollback_alarm_names) > 0 ? ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"] : ["DEPLOYMENT_FAILURE"]
  }

  dynamic "alarm_configuration" {
    for_each = length(var.rollback_alarm_names) > 0 ? [1] : []
    content {
      enabled = true
      alarms  = var.rollback_alarm_names
    }
  }

  depends_on = [aws_iam_role_policy_attachment.codedeploy_ecs]
}
