package revisiongateway

import (
	"maps"
	"slices"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

// ownSelector (pass 2) makes the canary's selector exclude the old pods
// (the old Deployment's selector cannot change: it is immutable and it
// matches the labels the production Services need, so it also matches the
// canary's pods; the Deployment controller only adopts orphans, so that
// overlap is harmless, but the reverse would make the canary count the old
// pods as its own).
func ownSelector(m *mesh.Model, w *work, res *krm.Results) error {
	o, n := w.workloads(m)
	prodKeys := map[string]bool{}
	for _, id := range w.prod {
		for k := range m.Service(id.Namespace, id.Name).Selector {
			prodKeys[k] = true
		}
	}
	if !n.SelectsPodsOf(o) {
		// Already its own; remember a label that tells the pods apart.
		keys := slices.Sorted(maps.Keys(n.MatchLabels()))
		for _, k := range keys {
			if v := n.MatchLabels()[k]; o.PodLabels[k] != v {
				w.discKey, w.discValue = k, v
				break
			}
		}
		return nil
	}
	for _, k := range discriminators {
		if v := n.PodLabels[k]; v != "" && o.PodLabels[k] != v && !prodKeys[k] {
			w.discKey, w.discValue = k, v
			break
		}
	}
	if w.discKey == "" {
		if o.PodLabels[mesh.LabelRev] == w.NewRevision || prodKeys[mesh.LabelRev] {
			res.Errorf(n.Object, "no label tells the canary's pods from those of %s (tried %s); list spec.pairs or give the canary a distinct %s label", o.ID, strings.Join(discriminators, ", "), mesh.LabelRev)
			w.failed = true
			return nil
		}
		w.discKey, w.discValue = mesh.LabelRev, w.NewRevision
		if err := setString(n.Node(), podLabelsPath, w.discKey, w.discValue); err != nil {
			return err
		}
	}
	if err := setString(n.Node(), matchLabelsPath, w.discKey, w.discValue); err != nil {
		return err
	}
	res.Infof(n.Object, "spec.selector.matchLabels %s=%s added: the canary's selector no longer selects the pods of %s", w.discKey, w.discValue, o.ID)
	return nil
}
