//go:build tools

// Package tools names the commands this wrapper module builds, so that
// `go mod tidy` keeps their dependencies in go.mod and go.sum.
package tools

import _ "github.com/cri-o/cri-o/cmd/crio"
