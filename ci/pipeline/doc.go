// Package pipeline holds the Know Me release pipeline's container recipes, written against
// the plain Dagger client library so they compile and are testable without a Dagger module
// runtime. The module functions in ci/main.go only convert their arguments and call into here.
//
// The recipes build containers and wire secrets; every AWS and Terraform decision belongs to
// the deploy tool (kmdeploy), which runs inside the toolbox container built by Toolbox.
package pipeline
