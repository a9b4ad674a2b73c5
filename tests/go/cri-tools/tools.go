//go:build tools

// Package tools names the commands this wrapper module builds, so that
// `go mod tidy` keeps their dependencies (critest's test files' among them)
// in go.mod and go.sum.
package tools

import (
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
	_ "sigs.k8s.io/cri-tools/cmd/critest"
)
