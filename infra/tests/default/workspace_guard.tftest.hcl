# The default workspace is no environment: nothing may be planned there. The harness
# runs this directory in workspace "default" (see tests/staging for how).

override_data {
  target = data.aws_route53_zone.main
  values = { zone_id = "Z0EXAMPLE", name = "example.test" }
}

override_data {
  target = data.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
}

run "default_workspace_is_refused" {
  command = plan
  variables {
    dns_zone_name = "example.test"
  }
  expect_failures = [terraform_data.workspace_guard]
}
