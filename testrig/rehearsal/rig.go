package rehearsal

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/knowmetools/km-release/internal/config"
	"github.com/knowmetools/km-release/testrig/awsemu"
	"github.com/knowmetools/km-release/testrig/ociimage"
)

// Rig is the rehearsal's environment while it is up, for further checks
// (Options.Then).
type Rig struct{ r *run }

// Emulator is the AWS emulation the environment lives in.
func (g *Rig) Emulator() *awsemu.Emulator { return g.r.emu }

// Resources are the environment's Terraform outputs.
func (g *Rig) Resources() config.Resources { return g.r.env.Resources }

// Image is the pushed image of a version (v1, v2, v3).
func (g *Rig) Image(version string) string { return g.r.imageOf(version) }

// WebDir is the built web bundle.
func (g *Rig) WebDir() string { return g.r.webDir }

// LambdaLog is everything the Lambda handlers have logged so far.
func (g *Rig) LambdaLog() string { return g.r.lambdaLog.String() }

// Pipeline runs kmdeploy as the release workflow does, under the GitHub Actions role.
func (g *Rig) Pipeline(ctx context.Context, args ...string) (output string, exitCode int, err error) {
	res, err := g.r.ci.run(ctx, args...)
	return res.Output, res.ExitCode, err
}

// PushAsPipeline pushes img to the environment's repository under tag, logged in as
// the release workflow is (`kmdeploy ecr-login` under the GitHub Actions role), and
// returns it pinned by digest.
func (g *Rig) PushAsPipeline(ctx context.Context, img v1.Image, tag string) (string, error) {
	auth, err := g.r.ci.registryAuth(ctx)
	if err != nil {
		return "", err
	}
	return ociimage.Push(ctx, img, g.r.env.Resources.ECRRepositoryURL, tag, true, auth)
}
