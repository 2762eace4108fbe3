// Package codedeploy emulates AWS CodeDeploy for ECS blue/green deployments, which moto
// does not implement beyond storing them (its deployments never leave Created, and
// aws-sdk-go-v2 cannot parse its timestamps).
//
// Server speaks CodeDeploy's JSON 1.1 protocol. A deployment runs in the background
// through AWS's ECS lifecycle (BeforeInstall, Install, AfterInstall, AllowTestTraffic,
// AfterAllowTestTraffic, BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic), changing
// ECS task sets and ELBv2 listeners in moto (Config.Backend) and invoking hook Lambdas
// through the emulation's front end (Config.Front), where the product's handlers run.
//
// CONTRACT with package awsemu (which mounts it):
//
//	srv := codedeploy.New(codedeploy.Config{...})
//	srv.ServeHTTP(w, r)   // requests whose X-Amz-Target starts with TargetPrefix
//	srv.Reset()           // forget everything, stop deployments in flight
//	srv.Close()           // stop deployments in flight
//	srv.FailNextHook(event, msg), srv.TimeoutNextHook(event), srv.SlowStep(event, d),
//	srv.SetHookTimeout(d) // failure injection
package codedeploy
