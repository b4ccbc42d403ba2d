//go:build tools

// Package k8s pins the Kubernetes commands that `make k8s` builds into
// bin/k8s/1.34.3-<goos>-<goarch>/ (kube-apiserver, kube-controller-manager
// v1.34.3, beside etcd from ./cmd/etcd) for the rehearsal on a local control
// plane. It is a module of its own, out of
// the product's go.mod: k8s.io/kubernetes replaces its staging modules with
// ./staging paths, which `go install` refuses, so go.mod here replaces each
// with its published v0.34.3.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
