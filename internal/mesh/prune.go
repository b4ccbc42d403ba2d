package mesh

import (
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// This file answers the questions of step S7 (prune): which objects are the
// same to the API server whatever their apiVersion, what an object still
// needs beyond References (Istio Gateway resources named by VirtualServices,
// the istiod a mesh ConfigMap or a fallback address points at), which pods a
// Service or Istio Gateway from ANOTHER model selects in this one, and which
// namespaces an injector webhook serves.

// CanonicalID is the identity under which the API server stores an object.
// The legacy extensions group served the same objects as apps (Deployment,
// DaemonSet, ReplicaSet), networking.k8s.io (Ingress, NetworkPolicy) and
// policy (PodSecurityPolicy): `kubectl delete` of an extensions/v1beta1
// Deployment deletes the apps/v1 Deployment of that name.
func CanonicalID(id ID) ID {
	if id.Group != "extensions" {
		return id
	}
	switch id.Kind {
	case "Deployment", "DaemonSet", "ReplicaSet":
		id.Group = "apps"
	case "Ingress", "NetworkPolicy":
		id.Group = "networking.k8s.io"
	case "PodSecurityPolicy":
		id.Group = "policy"
	}
	return id
}

// WhyFallbackDiscovery is the Why of a reference from a gateway whose mesh
// ConfigMap is missing to the Service of FallbackDiscoveryAddress.
const WhyFallbackDiscovery = "fallback discovery address"

// PruneReferences is References plus the edges a prune must also respect:
//   - a VirtualService's gateways (spec.gateways and every route's
//     match[].gateways) to the Istio Gateway resources they bind to, resolved
//     as pilot does (pilot/pkg/model/config.go resolveGatewayName: "ns/name",
//     "./name" and a bare name in the VirtualService's namespace, the legacy
//     "name.ns.svc..." form; "mesh" is not a resource);
//   - a mesh ConfigMap (istio, istio-<rev>) to the Service its
//     defaultConfig.discoveryAddress names;
//   - a non-injected gateway whose config-volume ConfigMap is absent from its
//     namespace to the Service of FallbackDiscoveryAddress, which the proxy
//     dials instead (Why: WhyFallbackDiscovery).
func (m *Model) PruneReferences(o *Object) []Reference {
	out := m.References(o)
	id := o.ID
	switch {
	case id.Group == "networking.istio.io" && id.Kind == "VirtualService":
		for _, g := range virtualServiceGateways(o.Node().YNode()) {
			if ns, name, ok := resolveGatewayName(g, id.Namespace); ok {
				out = append(out, Reference{From: id, To: ID{Group: "networking.istio.io", Kind: "Gateway", Namespace: ns, Name: name}, Why: "gateways " + g})
			}
		}
	case id.Group == "" && id.Kind == "ConfigMap":
		if _, ok := RevisionOfConfigMap(id.Name); !ok {
			break
		}
		if addr := meshDiscoveryAddress(o.Node().YNode()); addr != "" {
			if ns, name, ok := hostService(addr, id.Namespace); ok {
				out = append(out, Reference{From: id, To: ID{Kind: "Service", Namespace: ns, Name: name}, Why: "mesh defaultConfig.discoveryAddress " + addr})
			}
		}
	default:
		if w := m.workloadsBy[id]; w != nil {
			if g := w.Gateway(); g != nil && !g.Injected && m.ConfigMapMissing(g) {
				ns, name, _ := hostService(FallbackDiscoveryAddress, id.Namespace)
				out = append(out, Reference{From: id, To: ID{Kind: "Service", Namespace: ns, Name: name}, Why: WhyFallbackDiscovery, Optional: true})
			}
		}
	}
	return out
}

// PruneReferenceIndex returns every PruneReferences edge of the model keyed
// by the CanonicalID of its target, each list sorted by source.
func (m *Model) PruneReferenceIndex() map[ID][]Reference {
	idx := map[ID][]Reference{}
	for _, o := range m.Objects {
		for _, r := range m.PruneReferences(o) {
			t := CanonicalID(r.To)
			idx[t] = append(idx[t], r)
		}
	}
	for _, rs := range idx {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].From.Less(rs[j].From) })
	}
	return idx
}

func virtualServiceGateways(y *yaml.Node) []string {
	var out []string
	seen := map[string]bool{}
	add := func(list *yaml.Node) {
		for _, g := range seq(list) {
			if v := scalar(g); v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	add(lookup(y, "spec", "gateways"))
	for _, route := range []string{"http", "tls", "tcp"} {
		for _, r := range seq(lookup(y, "spec", route)) {
			for _, mt := range seq(lookup(r, "match")) {
				add(lookup(mt, "gateways"))
			}
		}
	}
	return out
}

// resolveGatewayName mirrors pilot/pkg/model/config.go resolveGatewayName.
func resolveGatewayName(g, vsNamespace string) (ns, name string, ok bool) {
	if g == "" || g == "mesh" {
		return "", "", false
	}
	if i := strings.Index(g, "/"); i >= 0 {
		ns, name = g[:i], g[i+1:]
		if ns == "." {
			ns = vsNamespace
		}
		return ns, name, name != ""
	}
	if i := strings.Index(g, "."); i >= 0 {
		rest := g[i+1:]
		if j := strings.Index(rest, "."); j >= 0 {
			rest = rest[:j]
		}
		return rest, g[:i], rest != ""
	}
	return vsNamespace, g, true
}

// meshDiscoveryAddress reads defaultConfig.discoveryAddress from the mesh
// config a ConfigMap carries under data.mesh (pkg/config/mesh/mesh.go
// ApplyMeshConfig reads the same key). Unparseable mesh config gives "".
func meshDiscoveryAddress(y *yaml.Node) string {
	data := scalar(lookup(y, "data", "mesh"))
	if data == "" {
		return ""
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(data), &doc); err != nil {
		return ""
	}
	return scalar(lookup(&doc, "defaultConfig", "discoveryAddress"))
}
