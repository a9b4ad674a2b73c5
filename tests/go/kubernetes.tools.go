//go:build tools

// Package tools names the package whose test binary is e2e.test, Kubernetes'
// conformance suite, in the tests/go/kubernetes-* wrappers that link it as
// tools.go: a `tool` line can only name a command, and `go mod tidy` keeps what
// the tests of an imported package need in go.mod and go.sum.
package tools

import _ "k8s.io/kubernetes/test/e2e"
