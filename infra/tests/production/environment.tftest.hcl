# What only production gets. The harness runs this directory in workspace "production"
# (see tests/staging for how).

override_data {
  target = data.aws_route53_zone.main
  values = { zone_id = "Z0EXAMPLE", name = "example.test" }
}

override_data {
  target = data.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
}

variables {
  dns_zone_name = "example.test"
}

run "production_data_survives_mistakes" {
  command = plan
  assert {
    condition     = aws_db_instance.main.deletion_protection && !aws_db_instance.main.skip_final_snapshot && aws_db_instance.main.final_snapshot_identifier == "km-production-final"
    error_message = "Production's database is protected from deletion and leaves a final snapshot."
  }
  assert {
    condition     = aws_db_instance.main.multi_az && aws_ecs_service.api.desired_count == 2 && aws_lb.api.enable_deletion_protection
    error_message = "Production runs Multi-AZ, two API tasks, and a load balancer protected from deletion."
  }
  assert {
    condition     = !aws_s3_bucket.web.force_destroy && !aws_s3_bucket.media.force_destroy && !aws_ecr_repository.api.force_delete
    error_message = "Production's buckets and images are never emptied by a destroy."
  }
  assert {
    condition     = aws_secretsmanager_secret.db_admin.recovery_window_in_days == 30
    error_message = "Production's secrets can be recovered for 30 days."
  }
}
