package pipeline

import (
	"context"

	"dagger.io/dagger"
)

// What a module function (ci/main.go) needs to hand its results to `dagger call`.

// ModuleError is an error as a module function returns it: the whole explanation as text,
// with nothing wrapped behind it.
//
// The Go SDK's dispatcher (generated into ci/dagger.gen.go; measured on v0.21.8) follows a
// function's error down a single Unwrap chain and, when it finds the engine's GraphQL error
// there, returns only that error's message and extensions. A StepError, or a release's
// timeline, around an exec failure would therefore reach the user as the bare "exit code: 1".
type ModuleError struct {
	Message string
}

func (e *ModuleError) Error() string { return e.Message }

// ForModule turns err into the error a module function returns (nil stays nil). Errors end
// at the module boundary, so nothing needs to unwrap them any more.
func ForModule(err error) error {
	if err == nil {
		return nil
	}
	return &ModuleError{Message: err.Error()}
}

// SyncContainer evaluates ctr now, naming step when it fails. Module functions return what
// they build this way rather than lazily: evaluated by the caller after the function has
// returned, a failing build would reach the user as the engine's bare exec error. The work
// is the same either way, and the engine caches the result.
func SyncContainer(ctx context.Context, step string, ctr *dagger.Container) (*dagger.Container, error) {
	synced, err := ctr.Sync(ctx)
	if err != nil {
		return nil, stepError(step, err)
	}
	return synced, nil
}

// SyncDirectory is SyncContainer for a directory (a web bundle, the Lambda zips).
func SyncDirectory(ctx context.Context, step string, dir *dagger.Directory) (*dagger.Directory, error) {
	synced, err := dir.Sync(ctx)
	if err != nil {
		return nil, stepError(step, err)
	}
	return synced, nil
}
