// Package codedeploy emulates AWS CodeDeploy for ECS blue/green deployments, which moto
// does not implement beyond storing them.
//
// CONTRACT with package awsemu (which mounts it):
//
//	srv := codedeploy.New(codedeploy.Config{...})
//	srv.ServeHTTP(w, r)   // requests whose X-Amz-Target starts with "CodeDeploy_20141006."
//	srv.Reset()
//	srv.FailNextHook(...), srv.TimeoutNextHook(...), ... // failure injection
package codedeploy
