//go:build tools

// Package k8s pins the Kubernetes 1.24 commands that `make k8s-1.24` builds
// into bin/k8s/1.24.17-<os>-<arch>/ (kube-apiserver, kube-controller-manager
// v1.24.17). The rehearsal needs a control plane this old for legacy Istio
// 1.5–1.7 renders: they use policy/v1beta1 PodDisruptionBudget and
// autoscaling/v2beta1 / v2beta2 HorizontalPodAutoscalers, which Kubernetes
// 1.25 (policy/v1beta1, autoscaling/v2beta1) and 1.26 (autoscaling/v2beta2)
// no longer serve. It is a module of its own, out of the product's go.mod
// and beside hack/k8s (v1.34.3), since one module holds one k8s.io/kubernetes:
// k8s.io/kubernetes replaces its staging modules with ./staging paths, which
// `go install` refuses, so go.mod here replaces each with its published
// v0.24.17. etcd comes from hack/k8s (3.6.4), whose v3 API the 1.24
// apiserver's etcd 3.5 client speaks.
package k8s

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
