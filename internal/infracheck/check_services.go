package infracheck

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// CheckBlueGreen: the API service is deployed by CodeDeploy blue/green with automatic
// rollback, and Terraform leaves alone what deployments change (the service's task
// definition and target group, the listeners' target).
func CheckBlueGreen(m *Module) []Finding {
	r := &report{check: "ecs-blue-green"}
	ev := m.Evaluator("staging", nil)
	services := m.ResourcesOfType("aws_ecs_service")
	if len(services) == 0 {
		r.add(hcl.Range{}, "no aws_ecs_service: the API service is missing")
	}
	for _, svc := range services {
		ctrl := svc.Nested("deployment_controller")
		if len(ctrl) != 1 || !evalEquals(ev, ctrl[0].Body, "type", "CODE_DEPLOY") {
			r.add(svc.Range, "%s: deployment_controller { type = \"CODE_DEPLOY\" } is required (blue/green through CodeDeploy)", svc.Key())
		}
		ignored := ignoredChanges(svc.Body)
		for _, want := range []string{"task_definition", "load_balancer"} {
			if !ignored["all"] && !ignored[want] {
				r.add(svc.Range, "%s: lifecycle ignore_changes must include %s, which every deployment changes", svc.Key(), want)
			}
		}
	}
	groups := m.ResourcesOfType("aws_codedeploy_deployment_group")
	if len(groups) == 0 {
		r.add(hcl.Range{}, "no aws_codedeploy_deployment_group: the blue/green deployment group is missing")
	}
	for _, g := range groups {
		style := g.Nested("deployment_style")
		if len(style) != 1 || !evalEquals(ev, style[0].Body, "deployment_type", "BLUE_GREEN") || !evalEquals(ev, style[0].Body, "deployment_option", "WITH_TRAFFIC_CONTROL") {
			r.add(g.Range, "%s: deployment_style must be BLUE_GREEN WITH_TRAFFIC_CONTROL", g.Key())
		}
		rb := g.Nested("auto_rollback_configuration")
		if len(rb) != 1 || !isTrue(evalBodyAttr(ev, rb[0].Body, "enabled")) {
			r.add(g.Range, "%s: auto_rollback_configuration must be enabled", g.Key())
		} else if events, _ := stringsOf(evalBodyAttr(ev, rb[0].Body, "events")); !slices.Contains(events, "DEPLOYMENT_FAILURE") {
			r.add(rb[0].DefRange(), "%s: roll back on DEPLOYMENT_FAILURE", g.Key())
		}
		if len(g.Nested("ecs_service")) != 1 {
			r.add(g.Range, "%s: ecs_service must name the API service", g.Key())
		}
		// The listeners CodeDeploy moves must not be moved back by the next apply.
		for _, lbi := range g.Nested("load_balancer_info") {
			for _, pair := range nestedBlocks(lbi.Body, "target_group_pair_info") {
				for _, route := range append(nestedBlocks(pair.Body, "prod_traffic_route"), nestedBlocks(pair.Body, "test_traffic_route")...) {
					a := route.Body.Attributes["listener_arns"]
					if a == nil {
						continue
					}
					for _, l := range m.ReferencedResources(a.Expr, "aws_lb_listener") {
						if ig := ignoredChanges(m.Resources[l].Body); !ig["all"] && !ig["default_action"] {
							r.add(m.Resources[l].Range, "%s: CodeDeploy switches this listener; add lifecycle { ignore_changes = [default_action] }", l)
						}
					}
				}
				if n := len(nestedBlocks(pair.Body, "target_group")); n != 2 {
					r.add(pair.DefRange(), "%s: blue/green needs exactly two target groups, found %d", g.Key(), n)
				}
			}
		}
	}
	for _, tg := range m.ResourcesOfType("aws_lb_target_group") {
		if !evalEquals(ev, tg.Body, "target_type", "ip") {
			r.add(tg.Range, "%s: Fargate tasks register by IP: target_type = \"ip\"", tg.Key())
		}
		hc := tg.Nested("health_check")
		if len(hc) != 1 || !evalEquals(ev, hc[0].Body, "path", "/status/") {
			r.add(tg.Range, "%s: health check path must be /status/ (503 until migrations ran)", tg.Key())
		}
	}
	return r.out
}

func evalEquals(ev *Evaluator, body *hclsyntax.Body, attr, want string) bool {
	v := evalBodyAttr(ev, body, attr)
	return known(v) && v.Type() == cty.String && v.AsString() == want
}

// ignoredChanges returns the names in lifecycle.ignore_changes ("all" for the keyword).
func ignoredChanges(body *hclsyntax.Body) map[string]bool {
	out := map[string]bool{}
	for _, lc := range nestedBlocks(body, "lifecycle") {
		a := lc.Body.Attributes["ignore_changes"]
		if a == nil {
			continue
		}
		if hcl.ExprAsKeyword(a.Expr) == "all" {
			out["all"] = true
			continue
		}
		exprs, _ := hcl.ExprList(a.Expr)
		for _, e := range exprs {
			if t, diags := hcl.AbsTraversalForExpr(e); !diags.HasErrors() {
				out[t.RootName()] = true
			}
		}
	}
	return out
}

// containerDefinitionItems returns the expressions under key in the object literals of
// an expression (e.g. "environment" in jsonencode([{...}])).
func containerDefinitionItems(e hclsyntax.Expression, key string) []hclsyntax.Expression {
	var out []hclsyntax.Expression
	_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
		obj, ok := n.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil
		}
		for _, item := range obj.Items {
			name := hcl.ExprAsKeyword(item.KeyExpr)
			if name == "" {
				if v, diags := item.KeyExpr.Value(nil); !diags.HasErrors() && known(v) && v.Type() == cty.String {
					name = v.AsString()
				}
			}
			if name == key {
				out = append(out, item.ValueExpr)
			}
		}
		return nil
	})
	return out
}

// namesOf returns the "name" attribute of each object of a list value.
func namesOf(v cty.Value) ([]string, bool) {
	// The values may be unknown (resource attributes); the list and its names may not.
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.IsKnown() || e.IsNull() || !e.Type().IsObjectType() || !e.Type().HasAttribute("name") {
			return nil, false
		}
		n := e.GetAttr("name")
		if !known(n) || n.Type() != cty.String {
			return nil, false
		}
		out = append(out, n.AsString())
	}
	return out, true
}

// The app contract: what the image's migrate command reads.
var (
	migrateEnvironment = []string{"ADMIN_EMAIL", "DATABASE_ADMIN_USER"}
	migrateSecrets     = []string{"ADMIN_PASSWORD", "DATABASE_ADMIN_PASSWORD"}
)

// CheckTaskSecrets: credentials reach containers only through the task definition's
// `secrets` (resolved by ECS from Secrets Manager or SSM), never through `environment`.
func CheckTaskSecrets(m *Module) []Finding {
	r := &report{check: "task-secrets"}
	ev := m.Evaluator("staging", nil)
	defs := m.ResourcesOfType("aws_ecs_task_definition")
	if len(defs) == 0 {
		r.add(hcl.Range{}, "no aws_ecs_task_definition: the API task definition is missing")
	}
	for _, td := range defs {
		cd := td.Attr("container_definitions")
		if cd == nil {
			r.add(td.Range, "%s has no container_definitions", td.Key())
			continue
		}
		var envNames, secretNames []string
		for _, env := range containerDefinitionItems(cd.Expr, "environment") {
			names, ok := namesOf(mustEval(ev, env))
			if !ok {
				r.add(env.Range(), "%s: the environment's names cannot be determined statically; build it from a map whose keys are known", td.Key())
			}
			envNames = append(envNames, names...)
			for _, ref := range m.DeepRefs(env) {
				if secretSource(m, ref) {
					r.add(ref.Range, "%s: %s reaches the container's plain environment: reference it in `secrets` (valueFrom) instead", td.Key(), ref.Key)
				}
			}
		}
		for _, n := range envNames {
			if secretName.MatchString(n) {
				r.add(cd.SrcRange, "%s: environment variable %s looks like a secret: move it to `secrets` (valueFrom Secrets Manager/SSM)", td.Key(), n)
			}
		}
		secrets := containerDefinitionItems(cd.Expr, "secrets")
		if len(secrets) == 0 {
			r.add(cd.SrcRange, "%s: no `secrets`: the database and admin credentials must come from Secrets Manager/SSM", td.Key())
		}
		for _, s := range secrets {
			names, ok := namesOf(mustEval(ev, s))
			if !ok {
				r.add(s.Range(), "%s: the secrets' names cannot be determined statically", td.Key())
			}
			secretNames = append(secretNames, names...)
			if len(m.ReferencedResources(s, "aws_secretsmanager_secret")) == 0 && len(m.ReferencedResources(s, "aws_ssm_parameter")) == 0 {
				r.add(s.Range(), "%s: secrets must reference aws_secretsmanager_secret or aws_ssm_parameter ARNs", td.Key())
			}
		}
		for _, want := range migrateEnvironment {
			if !slices.Contains(envNames, want) {
				r.add(cd.SrcRange, "%s: the migrate command needs %s in the environment", td.Key(), want)
			}
		}
		for _, want := range migrateSecrets {
			if !slices.Contains(secretNames, want) {
				r.add(cd.SrcRange, "%s: the migrate command needs %s in `secrets`", td.Key(), want)
			}
		}
	}
	return r.out
}

func mustEval(ev *Evaluator, e hcl.Expression) cty.Value {
	v, _ := ev.Eval(e)
	return v
}

// CheckCloudFront: the web bucket is read through Origin Access Control (not the legacy
// origin access identity), viewers are on HTTPS, and client-side routes fall back to
// index.html.
func CheckCloudFront(m *Module) []Finding {
	r := &report{check: "cloudfront-oac"}
	ev := m.Evaluator("staging", nil)
	for _, oai := range m.ResourcesOfType("aws_cloudfront_origin_access_identity") {
		r.add(oai.Range, "%s: origin access identities are legacy; use aws_cloudfront_origin_access_control", oai.Key())
	}
	dists := m.ResourcesOfType("aws_cloudfront_distribution")
	if len(dists) == 0 {
		r.add(hcl.Range{}, "no aws_cloudfront_distribution: the web app is not served")
	}
	for _, d := range dists {
		for _, o := range d.Nested("origin") {
			if len(nestedBlocks(o.Body, "s3_origin_config")) > 0 {
				r.add(o.DefRange(), "%s: s3_origin_config (origin access identity) is legacy; set origin_access_control_id", d.Key())
			}
			dn := o.Body.Attributes["domain_name"]
			if dn == nil || len(m.ReferencedResources(dn.Expr, "aws_s3_bucket")) == 0 {
				continue
			}
			oac := o.Body.Attributes["origin_access_control_id"]
			if oac == nil || len(m.ReferencedResources(oac.Expr, "aws_cloudfront_origin_access_control")) == 0 {
				r.add(o.DefRange(), "%s: the S3 origin must set origin_access_control_id to an aws_cloudfront_origin_access_control", d.Key())
			}
		}
		for _, typ := range []string{"default_cache_behavior", "ordered_cache_behavior"} {
			for _, cb := range d.Nested(typ) {
				if p := evalBodyAttr(ev, cb.Body, "viewer_protocol_policy"); !known(p) || p.AsString() == "allow-all" {
					r.add(cb.DefRange(), "%s: viewer_protocol_policy must be redirect-to-https or https-only", d.Key())
				}
			}
		}
		fallback := map[float64]bool{}
		for _, cer := range d.Nested("custom_error_response") {
			code, _ := numberOf(evalBodyAttr(ev, cer.Body, "error_code"))
			resp, _ := numberOf(evalBodyAttr(ev, cer.Body, "response_code"))
			if evalEquals(ev, cer.Body, "response_page_path", "/index.html") && resp == 200 {
				fallback[code] = true
			}
		}
		if !fallback[403] || !fallback[404] {
			r.add(d.Range, "%s: single-page app fallback needs custom_error_response 403 and 404 → 200 /index.html", d.Key())
		}
	}
	for _, oac := range m.ResourcesOfType("aws_cloudfront_origin_access_control") {
		if !evalEquals(ev, oac.Body, "signing_behavior", "always") || !evalEquals(ev, oac.Body, "signing_protocol", "sigv4") || !evalEquals(ev, oac.Body, "origin_access_control_origin_type", "s3") {
			r.add(oac.Range, "%s: use origin type s3, signing_behavior always, signing_protocol sigv4", oac.Key())
		}
	}
	return r.out
}

// The Lambdas' environment, read by their go-envconfig specs.
var lambdaEnvironment = map[string][]string{
	"migrate_lambda_name": {"CLUSTER", "SUBNETS", "SECURITY_GROUPS", "CONTAINER_NAME", "MIGRATE_COMMAND"},
	"jobs_lambda_name":    {"CLUSTER", "SERVICE", "SUBNETS", "SECURITY_GROUPS", "CONTAINER_NAME", "JOBS_COMMAND"},
}

var lambdaZips = map[string]string{
	"migrate_lambda_name": "migrate-arm64.zip",
	"jobs_lambda_name":    "jobs-arm64.zip",
}

// CheckLambdaContract: the functions behind the outputs kmdeploy reads are the Go
// binaries `make lambdas` builds (provided.al2023, bootstrap, arm64 by default) and get
// the environment their code reads.
func CheckLambdaContract(m *Module) []Finding {
	r := &report{check: "lambda-contract"}
	ev := m.Evaluator("staging", nil)
	for _, output := range sortedKeys(lambdaEnvironment) {
		o := m.Outputs[output]
		if o == nil || o.Attr("value") == nil {
			r.add(hcl.Range{Filename: "outputs.tf"}, "output %q is missing", output)
			continue
		}
		fns := m.ReferencedResources(o.Attr("value").Expr, "aws_lambda_function")
		if len(fns) != 1 {
			r.add(o.Range, "output %q must name one aws_lambda_function", output)
			continue
		}
		fn := m.Resources[fns[0]]
		if !evalEquals(ev, fn.Body, "runtime", "provided.al2023") || !evalEquals(ev, fn.Body, "handler", "bootstrap") {
			r.add(fn.Range, "%s: Go functions use runtime provided.al2023 and handler bootstrap", fn.Key())
		}
		if arch, _ := stringsOf(evalAttr(ev, fn, "architectures")); !slices.Equal(arch, []string{"arm64"}) {
			r.add(fn.Range, "%s: architectures must default to [\"arm64\"] (the zips make lambdas builds)", fn.Key())
		}
		if f := evalAttr(ev, fn, "filename"); !known(f) || f.Type() != cty.String || !strings.HasSuffix(f.AsString(), "/"+lambdaZips[output]) {
			r.add(fn.Range, "%s: filename must default to dist/lambdas/%s", fn.Key(), lambdaZips[output])
		}
		if fn.Attr("source_code_hash") == nil {
			r.add(fn.Range, "%s: set source_code_hash so a rebuilt zip is deployed", fn.Key())
		}
		var vars cty.Value
		for _, env := range fn.Nested("environment") {
			vars = evalBodyAttr(ev, env.Body, "variables")
		}
		if vars == cty.NilVal || !vars.IsKnown() || vars.IsNull() || !(vars.Type().IsObjectType() || vars.Type().IsMapType()) {
			r.add(fn.Range, "%s: environment variables cannot be determined statically", fn.Key())
			continue
		}
		// The functions parse it as a bool (go-envconfig: strconv.ParseBool).
		if vars.Type().IsObjectType() && vars.Type().HasAttribute("ASSIGN_PUBLIC_IP") {
			if v := vars.GetAttr("ASSIGN_PUBLIC_IP"); v.IsKnown() && (v.IsNull() || v.Type() != cty.String || (v.AsString() != "true" && v.AsString() != "false")) {
				r.add(fn.Range, "%s: ASSIGN_PUBLIC_IP must be \"true\" or \"false\"", fn.Key())
			}
		}
		for _, want := range lambdaEnvironment[output] {
			if vars.Type().IsObjectType() && !vars.Type().HasAttribute(want) || vars.Type().IsMapType() && !vars.HasIndex(cty.StringVal(want)).True() {
				r.add(fn.Range, "%s: environment variable %s is missing (the function's code reads it)", fn.Key(), want)
			}
		}
	}
	return r.out
}
