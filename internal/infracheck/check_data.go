package infracheck

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The workspaces the environment checks evaluate: production and a disposable one.
const (
	productionWorkspace = "production"
	disposableWorkspace = "pr-123"
)

// CheckDatabase: the database is private, encrypted and backed up, in every workspace.
func CheckDatabase(m *Module) []Finding {
	r := &report{check: "database"}
	dbs := m.ResourcesOfType("aws_db_instance")
	if len(dbs) == 0 {
		r.add(hcl.Range{}, "no aws_db_instance: the environment needs its database")
	}
	for _, ws := range []string{productionWorkspace, disposableWorkspace} {
		ev := m.Evaluator(ws, nil)
		for _, db := range dbs {
			where := fmt.Sprintf("%s (workspace %s)", db.Key(), ws)
			if v := evalAttr(ev, db, "publicly_accessible"); !isFalse(v) {
				r.add(db.Range, "%s: set publicly_accessible = false", where)
			}
			if v := evalAttr(ev, db, "storage_encrypted"); !isTrue(v) {
				r.add(db.Range, "%s: set storage_encrypted = true", where)
			}
			if n, ok := numberOf(evalAttr(ev, db, "backup_retention_period")); !ok || n < 1 {
				r.add(db.Range, "%s: backup_retention_period must be at least 1 (automated backups on)", where)
			}
			if a := db.Attr("backup_retention_period"); a != nil {
				for _, ref := range m.DeepRefs(a.Expr) {
					if v := m.Variables[strings.TrimPrefix(ref.Key, "var.")]; ref.Kind == "var" && v != nil && len(v.Nested("validation")) == 0 {
						r.add(a.SrcRange, "%s: %s sets the backup retention: give it a validation requiring at least 1 day", db.Key(), ref.Key)
					}
				}
			}
		}
	}
	for _, db := range dbs {
		a := db.Attr("db_subnet_group_name")
		if a == nil {
			r.add(db.Range, "%s has no db_subnet_group_name: put it in the private subnets", db.Key())
			continue
		}
		for _, g := range m.ReferencedResources(a.Expr, "aws_db_subnet_group") {
			if sub := m.Resources[g].Attr("subnet_ids"); sub != nil && m.RefersTo(sub.Expr, "aws_subnet.public") {
				r.add(sub.SrcRange, "%s uses the public subnets: the database belongs in the private ones", g)
			}
		}
	}
	return r.out
}

// protection is one attribute whose value must differ between production (protected
// against loss) and a disposable environment (destroyable in one step).
type protection struct {
	resourceType, attr string
	production         func(cty.Value) bool
	disposable         func(cty.Value) bool
	want               string
}

var protections = []protection{
	{"aws_db_instance", "deletion_protection", isTrue, isFalse, "true in production, false elsewhere"},
	{"aws_db_instance", "skip_final_snapshot", isFalse, isTrue, "false in production (final snapshot), true elsewhere"},
	{"aws_db_instance", "final_snapshot_identifier", known, func(cty.Value) bool { return true }, "set in production"},
	{"aws_lb", "enable_deletion_protection", isTrue, isFalse, "true in production, false elsewhere"},
	{"aws_s3_bucket", "force_destroy", isFalse, isTrue, "false in production, true elsewhere"},
	{"aws_ecr_repository", "force_delete", isFalse, isTrue, "false in production, true elsewhere"},
	{"aws_secretsmanager_secret", "recovery_window_in_days", atLeast(7), equals(0), "at least 7 in production, 0 elsewhere (so the name can be reused at once)"},
}

func atLeast(n float64) func(cty.Value) bool {
	return func(v cty.Value) bool { f, ok := numberOf(v); return ok && f >= n }
}

func equals(n float64) func(cty.Value) bool {
	return func(v cty.Value) bool { f, ok := numberOf(v); return ok && f == n }
}

// CheckEnvironmentProtection: production is protected against deletion and data loss,
// while a disposable environment can be torn down with a plain terraform destroy.
func CheckEnvironmentProtection(m *Module) []Finding {
	r := &report{check: "environment-protection"}
	prod := m.Evaluator(productionWorkspace, nil)
	disp := m.Evaluator(disposableWorkspace, nil)
	for _, p := range protections {
		for _, b := range m.ResourcesOfType(p.resourceType) {
			if !p.production(evalAttr(prod, b, p.attr)) || !p.disposable(evalAttr(disp, b, p.attr)) {
				r.add(b.Range, "%s: %s must be %s (derive it from terraform.workspace)", b.Key(), p.attr, p.want)
			}
		}
	}
	return r.out
}

// CheckBucketsPrivate: every bucket (the web bucket above all) blocks public access
// completely, and no bucket policy allows anonymous principals.
func CheckBucketsPrivate(m *Module) []Finding {
	r := &report{check: "buckets-private"}
	if o := m.Outputs["web_bucket_name"]; o != nil {
		if v := o.Attr("value"); v == nil || len(m.ReferencedResources(v.Expr, "aws_s3_bucket")) == 0 {
			r.add(o.Range, "output web_bucket_name must name an aws_s3_bucket of this configuration")
		}
	}
	blocks := m.ResourcesOfType("aws_s3_bucket_public_access_block")
	for _, bucket := range m.ResourcesOfType("aws_s3_bucket") {
		covered := false
		for _, pab := range blocks {
			if !m.RefersTo(perInstance(pab, "bucket"), bucket.Key()) {
				continue
			}
			covered = true
			for _, flag := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
				if !literalTrue(pab.Attr(flag)) {
					r.add(pab.Range, "%s (%s): %s must be true", pab.Key(), bucket.Key(), flag)
				}
			}
		}
		if !covered {
			r.add(bucket.Range, "%s has no aws_s3_bucket_public_access_block: add one with all four settings true", bucket.Key())
		}
	}
	for _, pol := range m.ResourcesOfType("aws_s3_bucket_policy") {
		a := pol.Attr("policy")
		if a == nil {
			continue
		}
		for _, doc := range m.ReferencedResources(a.Expr, "aws_iam_policy_document") {
			for _, st := range m.documentStatements(doc) {
				if st.effect == "Allow" && st.anonymous {
					r.add(st.rng, "%s allows an anonymous principal (*): grant the CloudFront service or a role instead", st.doc)
				}
			}
		}
	}
	return r.out
}

// perInstance returns what attribute name of b is built from: the attribute itself, or,
// when it takes each.key/each.value, the resource's for_each expression, so that a
// setting shared by several buckets through for_each is credited to exactly those
// buckets. It returns an empty expression when the attribute is missing.
func perInstance(b *Block, name string) hcl.Expression {
	a := b.Attr(name)
	if a == nil {
		return hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), b.Range)
	}
	for _, ref := range Refs(a.Expr) {
		if ref.Key == "each" {
			if fe := b.Attr("for_each"); fe != nil {
				return fe.Expr
			}
		}
	}
	return a.Expr
}

func evalAttr(ev *Evaluator, b *Block, name string) cty.Value {
	a := b.Attr(name)
	if a == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	v, _ := ev.Eval(a.Expr)
	return v
}

func evalBodyAttr(ev *Evaluator, body *hclsyntax.Body, name string) cty.Value {
	a := body.Attributes[name]
	if a == nil {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	v, _ := ev.Eval(a.Expr)
	return v
}
