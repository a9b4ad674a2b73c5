//go:build tools

// Package tools names the Kubernetes test packages the tests/go/kubernetes-*
// wrappers that link it as tools.go build, so that `go mod tidy` keeps in
// go.mod and go.sum what they and their tests need: e2e.test is the test binary
// of k8s.io/kubernetes/test/e2e, agnhost the conformance specs' workload image.
package tools

import (
	_ "k8s.io/kubernetes/test/e2e"
	_ "k8s.io/kubernetes/test/images/agnhost"
)
