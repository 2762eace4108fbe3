# Properties of every environment that is not production, checked on plans made by
# the real AWS provider against the project's AWS emulation (no AWS account). The
# harness (internal/infratest) runs this directory in workspace "staging", with
# AWS_ENDPOINT_URL pointing at the emulation and lambda_dist_dir at freshly built zips.
# Overrides give the computed attributes the assertions read a value at plan time.

override_data {
  target = data.aws_route53_zone.main
  values = { zone_id = "Z0EXAMPLE", name = "example.test" }
}

override_data {
  target = data.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target          = aws_subnet.private
  override_during = plan
  values          = { id = "subnet-0private" }
}

override_resource {
  target          = aws_security_group.alb
  override_during = plan
  values          = { id = "sg-0alb" }
}

override_resource {
  target          = aws_security_group.tasks
  override_during = plan
  values          = { id = "sg-0tasks" }
}

override_resource {
  target          = aws_db_instance.main
  override_during = plan
  values          = { address = "db.example.internal", port = 5432 }
}

override_resource {
  target          = aws_ecr_repository.api
  override_during = plan
  values          = { repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/km-staging-api" }
}

override_resource {
  target          = aws_s3_bucket.media
  override_during = plan
  values          = { id = "km-staging-media-123456789012" }
}

override_resource {
  target          = aws_secretsmanager_secret.app
  override_during = plan
  values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:km-staging/app-AbCdEf" }
}

override_resource {
  target          = aws_secretsmanager_secret.db_app
  override_during = plan
  values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:km-staging/db-app-AbCdEf" }
}

override_resource {
  target          = aws_secretsmanager_secret.db_admin
  override_during = plan
  values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:km-staging/db-admin-AbCdEf" }
}

override_resource {
  target          = aws_secretsmanager_secret.api_extra
  override_during = plan
  values          = { arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:km-staging/api-extra-AbCdEf" }
}

override_resource {
  target          = aws_cloudfront_origin_access_control.web
  override_during = plan
  values          = { id = "E0OAC" }
}

variables {
  dns_zone_name = "example.test"
}

run "a_disposable_environment" {
  command = plan

  # Database is private and disposable
  assert {
    condition     = !aws_db_instance.main.publicly_accessible && aws_db_instance.main.storage_encrypted
    error_message = "The database must be private and encrypted."
  }
  assert {
    condition     = aws_db_instance.main.backup_retention_period >= 1
    error_message = "Automated backups must be on."
  }
  assert {
    condition     = toset(aws_db_subnet_group.main.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "The database belongs in the private subnets."
  }
  assert {
    condition     = aws_db_instance.main.password == null && aws_db_instance.main.password_wo_version == 1
    error_message = "The master password is write-only (never in the state)."
  }
  assert {
    condition     = !aws_db_instance.main.deletion_protection && aws_db_instance.main.skip_final_snapshot && !aws_db_instance.main.multi_az
    error_message = "A disposable environment's database is single-AZ and destroyable without a snapshot."
  }

  # The API is blue/green through CodeDeploy
  assert {
    condition     = aws_ecs_service.api.deployment_controller[0].type == "CODE_DEPLOY"
    error_message = "The API service must be deployed by CodeDeploy."
  }
  assert {
    condition     = alltrue([for tg in aws_lb_target_group.api : tg.target_type == "ip" && tg.health_check[0].path == "/status/" && tg.health_check[0].matcher == "200"])
    error_message = "Target groups register tasks by IP and check /status/, which answers 503 until migrations ran."
  }
  assert {
    condition = (aws_codedeploy_deployment_group.api.deployment_style[0].deployment_type == "BLUE_GREEN" &&
      aws_codedeploy_deployment_group.api.deployment_style[0].deployment_option == "WITH_TRAFFIC_CONTROL" &&
    aws_codedeploy_deployment_group.api.auto_rollback_configuration[0].enabled)
    error_message = "The deployment group is blue/green with traffic control and rolls back on failure."
  }
  assert {
    condition     = contains(aws_codedeploy_deployment_group.api.auto_rollback_configuration[0].events, "DEPLOYMENT_FAILURE")
    error_message = "A failed deployment must roll back."
  }

  # Credentials reach containers only as secrets
  assert {
    condition     = alltrue([for e in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].environment : length(regexall("(?i)password|secret|token|credential", e.name)) == 0])
    error_message = "No credential may be in a container's plain environment."
  }
  assert {
    condition     = length(setsubtract(["DJANGO_SECRET_KEY", "ADMIN_PASSWORD", "DJANGO_DB_PASSWORD", "DATABASE_ADMIN_PASSWORD"], [for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : s.name])) == 0
    error_message = "The server and the migrate command get their credentials from Secrets Manager through `secrets`."
  }
  assert {
    condition     = alltrue([for v in [aws_secretsmanager_secret_version.db_admin, aws_secretsmanager_secret_version.db_app, aws_secretsmanager_secret_version.app] : v.secret_string == null])
    error_message = "Generated credentials are written write-only, never kept in the state."
  }

  # Only the load balancer is open to the internet
  assert {
    condition     = [for r in [aws_vpc_security_group_ingress_rule.alb_https, aws_vpc_security_group_ingress_rule.alb_http] : r.from_port] == [443, 80]
    error_message = "The load balancer takes 443 and 80 from the internet."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.tasks_from_alb.referenced_security_group_id == aws_security_group.alb.id && aws_vpc_security_group_ingress_rule.tasks_from_alb.cidr_ipv4 == null
    error_message = "Tasks accept the load balancer only."
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.db_from_tasks.referenced_security_group_id == aws_security_group.tasks.id && aws_vpc_security_group_ingress_rule.db_from_tasks.cidr_ipv4 == null
    error_message = "The database accepts the API tasks only."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.alb_test_listener) == 0
    error_message = "Nobody reaches the test listener unless test_listener_cidrs says so."
  }

  # Buckets are private
  assert {
    condition = alltrue([for b in aws_s3_bucket_public_access_block.private :
    b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets])
    error_message = "Every bucket blocks every kind of public access."
  }
  assert {
    condition     = toset(keys(aws_s3_bucket_public_access_block.private)) == toset(["media", "web"])
    error_message = "Both buckets get the public access block."
  }

  # Web is served through origin access control
  assert {
    condition     = [for o in aws_cloudfront_distribution.web.origin : o.origin_access_control_id if length(o.s3_origin_config) == 0] == [aws_cloudfront_origin_access_control.web.id]
    error_message = "CloudFront reads the bucket through Origin Access Control, not a legacy origin access identity."
  }
  assert {
    condition     = aws_cloudfront_origin_access_control.web.signing_behavior == "always" && aws_cloudfront_origin_access_control.web.signing_protocol == "sigv4"
    error_message = "Origin Access Control signs every request with SigV4."
  }
  assert {
    condition     = aws_cloudfront_distribution.web.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"
    error_message = "Viewers are sent to HTTPS."
  }
  assert {
    condition     = toset([for e in aws_cloudfront_distribution.web.custom_error_response : "${e.error_code}:${e.response_code}:${e.response_page_path}"]) == toset(["403:200:/index.html", "404:200:/index.html"])
    error_message = "Client-side routes fall back to index.html (403 and 404)."
  }

  # Lambdas run the zips make lambdas builds
  assert {
    condition     = alltrue([for f in [aws_lambda_function.migrate, aws_lambda_function.jobs] : f.runtime == "provided.al2023" && f.handler == "bootstrap" && one(f.architectures) == "arm64"])
    error_message = "The Go functions run bootstrap on provided.al2023, arm64 by default."
  }
  assert {
    condition     = endswith(aws_lambda_function.migrate.filename, "/migrate-arm64.zip") && endswith(aws_lambda_function.jobs.filename, "/jobs-arm64.zip")
    error_message = "The functions' code is <function>-<architecture>.zip, as make lambdas names it."
  }

  # CI assumes its role only with GitHub's OIDC tokens of this repository's environment
  assert {
    condition = [for st in jsondecode(data.aws_iam_policy_document.github_actions_assume.json).Statement : {
      action = st.Action, aud = st.Condition.StringEquals["token.actions.githubusercontent.com:aud"], sub = st.Condition.StringEquals["token.actions.githubusercontent.com:sub"]
    }] == [{ action = "sts:AssumeRoleWithWebIdentity", aud = "sts.amazonaws.com", sub = "repo:knowmetools/km-release:environment:staging" }]
    error_message = "The CI role trusts GitHub's OIDC tokens for repo:<repository>:environment:<workspace> only, never long-lived keys."
  }

  # Background jobs are never retried
  assert {
    condition     = aws_lambda_function_event_invoke_config.jobs.maximum_retry_attempts == 0 && aws_cloudwatch_event_target.jobs.retry_policy[0].maximum_retry_attempts == 0
    error_message = "A failed jobs run is not retried, neither by EventBridge nor by Lambda: the next tick picks it up."
  }
}

run "lambdas_on_x86_64" {
  command = plan
  variables {
    lambda_architecture = "x86_64"
  }
  assert {
    condition     = endswith(aws_lambda_function.migrate.filename, "/migrate-x86_64.zip") && one(aws_lambda_function.jobs.architectures) == "x86_64"
    error_message = "x86_64 functions use the x86_64 zips."
  }
}

run "the_test_listener_is_never_open_to_the_world" {
  command = plan
  variables {
    test_listener_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.test_listener_cidrs]
}
