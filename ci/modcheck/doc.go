// Package modcheck checks the Dagger module's functions (ci/main.go) without a Dagger
// engine: its tests compile main.go against a small hand-written stand-in for the bindings
// the engine generates, and check the functions' pragmas. It has no code of its own.
package modcheck
