package dataplanerevision

import (
	"fmt"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"k8s.io/apimachinery/pkg/labels"
)

// Workloads pinned by their own label: in a namespace without injection
// labels, every revisioned injector's rev.object webhook reads the pod's
// istio.io/rev (manifests/charts/istio-control/istio-discovery/templates/
// mutatingwebhook.yaml; a tag's the same, revision-tags-mwc.yaml), so the
// pod label, not the namespace, chooses the revision. Left alone, such a
// workload loses its injector with the old revision's prune and its next
// pods start without a sidecar (RS026).

// HasDataPlane reports whether m holds a data plane for this function to
// move: a Namespace labelled for injection, or a workload pinned by its own
// label (plan adds the data-plane step only then).
func HasDataPlane(m *mesh.Model) bool {
	for _, ns := range m.Namespaces {
		if mesh.NamespaceInjection(ns.Labels).Labelled() {
			return true
		}
	}
	return len(pinned(m, labels.Everything())) > 0
}

// pinned returns the workloads whose own istio.io/rev label chooses their
// injector, in namespaces that sel selects (a namespace absent from the
// input has no labels). Istiods and gateways are not ours to move; pods
// that opt out of injection do not change.
func pinned(m *mesh.Model, sel labels.Selector) []*mesh.Workload {
	nsLabels := map[string]map[string]string{}
	for _, ns := range m.Namespaces {
		nsLabels[ns.ID.Name] = ns.Labels
	}
	var out []*mesh.Workload
	for _, w := range m.Workloads {
		l := nsLabels[w.ID.Namespace]
		if w.PodLabels[mesh.LabelRev] == "" || mesh.NamespaceInjection(l).Labelled() || !sel.Matches(labels.Set(l)) {
			continue
		}
		if not, _ := w.NotInjected(); not || w.Istiod() != nil || w.Gateway() != nil {
			continue
		}
		out = append(out, w)
	}
	return out
}

// movePinned moves one pinned workload onto revision rev, following the
// injector that answers its label now: a revision's own injector of
// another revision (it names that revision): its label is set to rev, which
// rolls it; a revision tag's injector already on rev (the tag moved): the
// restart annotation rolls it onto the tag's new revision; a tag on another
// revision, or no injector in the input: left alone, said.
func movePinned(m *mesh.Model, w *mesh.Workload, rev string, res *krm.Results) error {
	asked := w.PodLabels[mesh.LabelRev]
	h := m.InjectorOf(w)
	if h == nil {
		res.Infof(w.Object, "%s asks for %s=%s, which no injector in the input answers: left alone", w.ID, mesh.LabelRev, asked)
		return nil
	}
	r, _ := m.WebhookRevision(h)
	if _, tag := mesh.ConfigRevision(h.Config); tag != "" {
		if r != rev {
			res.Infof(w.Object, "%s follows revision tag %s, which is on revision %s, not %s: left alone", w.ID, tag, r, rev)
			return nil
		}
		return restart(m, w, rev, asked, res)
	}
	if r == rev {
		return nil
	}
	for _, req := range requirements(w.Selector) {
		if req.Key() == mesh.LabelRev {
			res.Warnf(w.Object, "%s is pinned to revision %s by its pod label %s, which its spec.selector also reads (immutable): relabelling would orphan its pods; recreate it under a selector without %s, then move it to %s", w.ID, r, mesh.LabelRev, mesh.LabelRev, rev)
			return nil
		}
	}
	if err := setPodMeta(w.Object, "labels", mesh.LabelRev, rev); err != nil {
		return err
	}
	res.Infof(w.Object, "%s rolls onto revision %s: pod label %s %s -> %s (its own label chooses its injector, not its namespace's); its new pods are injected by %s", w.ID, rev, mesh.LabelRev, asked, rev, injectorOf(m, rev))
	return nil
}

// requirements are a selector's requirements (none for a nil selector).
func requirements(s labels.Selector) labels.Requirements {
	if s == nil {
		return nil
	}
	reqs, _ := s.Requirements()
	return reqs
}

// injectorOf names the configuration of revision rev's own injector.
func injectorOf(m *mesh.Model, rev string) string {
	if o, err := m.CanonicalInjector(rev); err == nil && o != nil {
		return o.ID.String()
	}
	return fmt.Sprintf("the injector of revision %s", rev)
}
