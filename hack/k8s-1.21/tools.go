//go:build tools

// Package k8s pins the Kubernetes 1.21 commands that `make k8s-1.21` builds
// into bin/k8s/1.21.14-<os>-<arch>/ (kube-apiserver, kube-controller-manager
// v1.21.14). The rehearsal needs a control plane this old for legacy Istio
// 1.5–1.7 renders: they use apiextensions.k8s.io/v1beta1
// CustomResourceDefinitions and admissionregistration.k8s.io/v1beta1 webhook
// configurations, which Kubernetes 1.22 no longer serves, besides
// policy/v1beta1 PodDisruptionBudgets and autoscaling/v2beta1
// HorizontalPodAutoscalers (gone in 1.25). It is a module of its own, out of
// the product's go.mod and beside hack/k8s (v1.34.3) and hack/k8s-1.24, since
// one module holds one k8s.io/kubernetes: k8s.io/kubernetes replaces its
// staging modules with ./staging paths, which `go install` refuses, so go.mod
// here replaces each with its published v0.21.14. etcd comes from hack/k8s
// (3.6.4), whose v3 API the 1.21 apiserver's etcd 3.4 client speaks.
//
// Module k8s.io/kubernetes v1.21.14 lacks the apiserver's generated OpenAPI
// code (Kubernetes generated it at build time until 1.24): build-tree.sh
// generates it with openapi-gen (the go.mod tool) into a vendor tree that
// the commands build from. k8s.io/kube-proxy/config/v1alpha1 is imported
// below only because it is one of openapi-gen's inputs, which nothing else
// here imports; the go command loads no package of a module go.mod lacks.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"

	_ "k8s.io/kube-proxy/config/v1alpha1"
)
