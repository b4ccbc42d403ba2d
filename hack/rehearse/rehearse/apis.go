package rehearse

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// removedIn is the Kubernetes minor version that stopped serving an API a
// rendered mesh may use, from the Kubernetes deprecation guide
// (kubernetes.io/docs/reference/using-api/deprecation-guide, "Removed APIs
// by release").
var removedIn = map[schema.GroupVersionKind]int{
	{Group: "policy", Version: "v1beta1", Kind: "PodDisruptionBudget"}:                                    25,
	{Group: "policy", Version: "v1beta1", Kind: "PodSecurityPolicy"}:                                      25,
	{Group: "autoscaling", Version: "v2beta1", Kind: "HorizontalPodAutoscaler"}:                           25,
	{Group: "autoscaling", Version: "v2beta2", Kind: "HorizontalPodAutoscaler"}:                           26,
	{Group: "batch", Version: "v1beta1", Kind: "CronJob"}:                                                 25,
	{Group: "admissionregistration.k8s.io", Version: "v1beta1", Kind: "MutatingWebhookConfiguration"}:     22,
	{Group: "admissionregistration.k8s.io", Version: "v1beta1", Kind: "ValidatingWebhookConfiguration"}:   22,
	{Group: "apiextensions.k8s.io", Version: "v1beta1", Kind: "CustomResourceDefinition"}:                 22,
	{Group: "rbac.authorization.k8s.io", Version: "v1beta1", Kind: "ClusterRole"}:                         22,
	{Group: "rbac.authorization.k8s.io", Version: "v1beta1", Kind: "ClusterRoleBinding"}:                  22,
	{Group: "rbac.authorization.k8s.io", Version: "v1beta1", Kind: "Role"}:                                22,
	{Group: "rbac.authorization.k8s.io", Version: "v1beta1", Kind: "RoleBinding"}:                         22,
	{Group: "networking.k8s.io", Version: "v1beta1", Kind: "Ingress"}:                                     22,
	{Group: "extensions", Version: "v1beta1", Kind: "Ingress"}:                                            22,
	{Group: "extensions", Version: "v1beta1", Kind: "Deployment"}:                                         16,
	{Group: "apps", Version: "v1beta1", Kind: "Deployment"}:                                               16,
	{Group: "apps", Version: "v1beta2", Kind: "Deployment"}:                                               16,
	{Group: "apps", Version: "v1beta1", Kind: "StatefulSet"}:                                              16,
	{Group: "apps", Version: "v1beta2", Kind: "StatefulSet"}:                                              16,
	{Group: "apps", Version: "v1beta2", Kind: "DaemonSet"}:                                                16,
	{Group: "extensions", Version: "v1beta1", Kind: "DaemonSet"}:                                          16,
	{Group: "scheduling.k8s.io", Version: "v1beta1", Kind: "PriorityClass"}:                               22,
	{Group: "certificates.k8s.io", Version: "v1beta1", Kind: "CertificateSigningRequest"}:                 22,
	{Group: "coordination.k8s.io", Version: "v1beta1", Kind: "Lease"}:                                     22,
	{Group: "storage.k8s.io", Version: "v1beta1", Kind: "CSIDriver"}:                                      22,
	{Group: "discovery.k8s.io", Version: "v1beta1", Kind: "EndpointSlice"}:                                25,
	{Group: "flowcontrol.apiserver.k8s.io", Version: "v1beta1", Kind: "FlowSchema"}:                       26,
	{Group: "admissionregistration.k8s.io", Version: "v1beta1", Kind: "ValidatingAdmissionPolicy"}:        32,
	{Group: "admissionregistration.k8s.io", Version: "v1beta1", Kind: "ValidatingAdmissionPolicyBinding"}: 32,
}

// NeededMinor is the newest Kubernetes minor version that serves every API
// the states use (0 when none was removed): the plan's 1.5 to 1.7 renders
// need 1.24, current ones run on 1.34.
func NeededMinor(states []*State) (int, []string) {
	need := 0
	var why []string
	seen := map[schema.GroupVersionKind]bool{}
	for _, st := range states {
		for _, o := range st.Objects {
			gvk := o.GroupVersionKind()
			if r, ok := removedIn[gvk]; ok && !seen[gvk] {
				seen[gvk] = true
				why = append(why, fmt.Sprintf("%s %s (removed in 1.%d)", gvk.GroupVersion(), gvk.Kind, r))
				if need == 0 || r-1 < need {
					need = r - 1
				}
			}
		}
	}
	sort.Strings(why)
	return need, why
}

// unservedAPIs names the APIs of the objects that the server does not serve
// and no CRD among the objects defines.
func unservedAPIs(objs []*unstructured.Unstructured, served func(schema.GroupVersionKind) bool, minor int) map[mesh.ID]string {
	defined := map[schema.GroupKind]bool{}
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			g, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			k, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			defined[schema.GroupKind{Group: g, Kind: k}] = true
		}
	}
	out := map[mesh.ID]string{}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		if defined[gvk.GroupKind()] || served(gvk) {
			continue
		}
		if r, ok := removedIn[gvk]; ok && r <= minor {
			out[keyOf(o)] = fmt.Sprintf("%s %s is not served by Kubernetes 1.%d: it was removed in 1.%d (rehearse on Kubernetes 1.%d or older%s)",
				gvk.GroupVersion(), gvk.Kind, minor, r, r-1, suggest(r-1))
			continue
		}
		out[keyOf(o)] = fmt.Sprintf("%s %s is not served by this API server (Kubernetes 1.%d) and no CustomResourceDefinition in the step defines it", gvk.GroupVersion(), gvk.Kind, minor)
	}
	return out
}

func joinLimit(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(" (+%d more)", len(s)-n)
}

// suggest names the assets that serve an API removed after minor, if any.
func suggest(minor int) string {
	best := ""
	for m := range versions {
		var v int
		if _, err := fmt.Sscanf(m, "1.%d", &v); err != nil {
			continue
		}
		if v <= minor && (best == "" || m > best) {
			best = m
		}
	}
	if best == "" {
		return ""
	}
	return ", --kubernetes " + best
}
