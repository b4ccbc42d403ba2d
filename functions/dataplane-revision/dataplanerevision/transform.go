// Package dataplanerevision is step S5 of the upgrade (see
// docs/upgrade-model.md): it moves the data plane onto the new
// revision. Namespaces labelled istio-injection=enabled (or istio.io/rev=<old>)
// are relabelled istio.io/rev=<rev> (or a revision tag), and the pod
// templates of their Deployments, StatefulSets and DaemonSets get an
// annotation naming the revision, so that they roll and their new pods are
// injected by the new revision's injector. Workloads pinned to the old
// revision by their own istio.io/rev pod label are relabelled (pinned.go).
//
// The old label is removed, not just joined by the new one: every revisioned
// injector selects `istio-injection DoesNotExist` (manifests/charts/
// istio-control/istio-discovery/templates/mutatingwebhook.yaml; see
// mesh.Injection), so a namespace that keeps istio-injection=enabled stays on
// the old injector.
package dataplanerevision

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "DataplaneRevision"

// AnnotationRestartedFor is the pod-template annotation that rolls a
// workload onto a revision. Its value is the revision, never a time: the
// same input always gives the same output, a second run changes nothing,
// and a GitOps controller sees no drift (a timestamp, as `kubectl rollout
// restart` writes in kubectl.kubernetes.io/restartedAt, would change on
// every render and restart every workload on every sync).
const AnnotationRestartedFor = "revshift.dev/restarted-for-revision"

// ControlPlaneNamespace is never relabelled (nor is the namespace of any
// istiod in the input).
const ControlPlaneNamespace = "istio-system"

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: DataplaneRevision
//	metadata: {name: dataplane}
//	spec:
//	  revision: 1-6-14        # inferred when absent
//	  tag: prod-stable        # label namespaces istio.io/rev=<tag> instead
//	  namespaceSelector:      # metav1.LabelSelector over the namespaces' labels
//	    matchLabels: {team: payments}
type Spec struct {
	Revision          string    `yaml:"revision,omitempty"`
	Tag               string    `yaml:"tag,omitempty"`
	NamespaceSelector yaml.Node `yaml:"namespaceSelector,omitempty"`
}

// Validate checks spec.revision and spec.tag (krm.DecodeConfig calls it).
func (s Spec) Validate() error {
	if err := krm.CheckRevision("revision", s.Revision); err != nil {
		return err
	}
	if s.Tag != "" {
		if err := mesh.ValidRevision(s.Tag); err != nil {
			return fmt.Errorf("functionConfig spec.tag: %v", strings.Replace(err.Error(), "revision", "tag", 1))
		}
	}
	return nil
}

// Transform relabels the selected namespaces and annotates their workloads.
// See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	sel, err := mesh.ParseLabelSelector(&spec.NamespaceSelector, "spec.namespaceSelector")
	if err != nil {
		return nil, fmt.Errorf("functionConfig %v", err)
	}
	selectorGiven := spec.NamespaceSelector.Kind != 0 && !sel.Empty()
	m, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}

	controlPlane := map[string]bool{ControlPlaneNamespace: true}
	for _, i := range m.Istiods {
		controlPlane[i.ID.Namespace] = true
	}

	// Decide per namespace first: the revision need only be resolved when
	// some namespace is to move.
	var todo []*mesh.Namespace
	for _, ns := range m.Namespaces {
		inj := mesh.NamespaceInjection(ns.Labels)
		matched := sel.Matches(labels.Set(ns.Labels))
		switch {
		case !inj.Labelled():
			if selectorGiven && matched {
				res.Infof(ns.Object, "namespace %s is matched by spec.namespaceSelector but not labelled for injection (%s): left alone; this function moves injected namespaces to a revision, it does not turn injection on", ns.ID.Name, injectionLabels(ns.Labels))
			}
		case controlPlane[ns.ID.Name]:
			res.Infof(ns.Object, "namespace %s is a control-plane namespace: not relabelled, its workloads not restarted", ns.ID.Name)
		case !matched:
			res.Infof(ns.Object, "namespace %s (%s) is not matched by spec.namespaceSelector: left on its current injector", ns.ID.Name, injectionLabels(ns.Labels))
		default:
			todo = append(todo, ns)
		}
	}
	pins := pinned(m, sel)
	if len(todo) == 0 && len(pins) == 0 {
		res.Infof(nil, "no namespace in the input is labelled for injection and selected, and no workload is pinned to a revision by its own istio.io/rev label: nothing to do")
		return items, nil
	}

	rev, how, err := targetRevision(m, spec)
	if err != nil {
		return nil, err
	}
	value := rev
	if spec.Tag != "" {
		value = spec.Tag
	}
	if len(todo) > 0 {
		res.Infof(nil, "target revision %s (%s); namespaces are labelled %s=%s", rev, how, mesh.LabelRev, value)
	} else {
		res.Infof(nil, "target revision %s (%s)", rev, how)
	}

	for _, ns := range todo {
		if err := moveNamespace(m, ns, rev, value, res); err != nil {
			return nil, err
		}
	}
	for _, w := range pins {
		if err := movePinned(m, w, rev, res); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// targetRevision resolves the revision: spec.revision; else the revision of
// the injector the input has for spec.tag; else the only non-default
// revision with an istiod in the input.
func targetRevision(m *mesh.Model, spec Spec) (rev, how string, err error) {
	if spec.Revision != "" {
		return spec.Revision, "spec.revision", nil
	}
	if spec.Tag != "" {
		revs := map[string]bool{}
		var list []string
		for _, h := range m.InjectorsForNamespace(map[string]string{mesh.LabelRev: spec.Tag}) {
			if r, ok := m.WebhookRevision(h); ok && !revs[r] {
				revs[r] = true
				list = append(list, r)
			}
		}
		if len(list) == 1 {
			return list[0], fmt.Sprintf("the revision whose injector serves tag %s in the input", spec.Tag), nil
		}
		if len(list) > 1 {
			return "", "", fmt.Errorf("cannot infer the target revision: injectors of revisions %s all select %s=%s; set spec.revision", strings.Join(list, ", "), mesh.LabelRev, spec.Tag)
		}
	}
	rev, err = m.TargetRevision("")
	if err != nil {
		return "", "", fmt.Errorf("cannot infer the target revision: %v", err)
	}
	return rev, "inferred: the only non-default revision with an istiod in the input", nil
}

// moveNamespace relabels one namespace (when needed), checks that an
// injector of the revision will serve it, and annotates its workloads.
func moveNamespace(m *mesh.Model, ns *mesh.Namespace, rev, value string, res *krm.Results) error {
	newLabels := make(map[string]string, len(ns.Labels)+1)
	for k, v := range ns.Labels {
		newLabels[k] = v
	}
	delete(newLabels, mesh.LabelInjection)
	newLabels[mesh.LabelRev] = value

	inj := mesh.NamespaceInjection(ns.Labels)
	injectors := describeInjectors(m, newLabels, rev)
	if inj.Rev == value && !inj.Legacy {
		res.Infof(ns.Object, "namespace %s is already labelled %s=%s%s", ns.ID.Name, mesh.LabelRev, value, injectors.suffix)
	} else {
		var changes []string
		if _, ok := ns.Labels[mesh.LabelInjection]; ok {
			changes = append(changes, fmt.Sprintf("removed %s=%s (it takes precedence: revision injectors select only namespaces without it)", mesh.LabelInjection, ns.Labels[mesh.LabelInjection]))
		}
		if old, ok := ns.Labels[mesh.LabelRev]; ok && old == value {
			changes = append(changes, fmt.Sprintf("kept %s=%s", mesh.LabelRev, value))
		} else if ok {
			changes = append(changes, fmt.Sprintf("%s %s -> %s", mesh.LabelRev, old, value))
		} else {
			changes = append(changes, fmt.Sprintf("set %s=%s", mesh.LabelRev, value))
		}
		if err := relabel(ns.Object, value); err != nil {
			return err
		}
		res.Infof(ns.Object, "namespace %s relabelled for revision %s: %s%s", ns.ID.Name, rev, strings.Join(changes, ", "), injectors.suffix)
	}
	if injectors.warning != "" {
		res.Warnf(ns.Object, "namespace %s: %s", ns.ID.Name, injectors.warning)
	}

	for _, w := range m.WorkloadsIn(ns.ID.Name) {
		if err := restart(m, w, rev, value, res); err != nil {
			return err
		}
	}
	return nil
}

type injectorReport struct {
	suffix  string // appended to the namespace's info result
	warning string // "" when exactly the target revision injects
}

// describeInjectors says which injectors of the input will serve a namespace
// with the new labels, and warns when none of the target revision does or
// one of another revision also does.
func describeInjectors(m *mesh.Model, nsLabels map[string]string, rev string) injectorReport {
	var mine, others []string
	for _, h := range m.InjectorsForNamespace(nsLabels) {
		name := fmt.Sprintf("%s (%s)", h.Config.ID, h.Name)
		if r, ok := m.WebhookRevision(h); ok && r == rev {
			mine = append(mine, name)
		} else {
			if !ok {
				r = "unknown"
			}
			others = append(others, fmt.Sprintf("%s of revision %s", name, r))
		}
	}
	var r injectorReport
	if len(mine) > 0 {
		r.suffix = "; new pods are injected by " + strings.Join(mine, ", ")
	}
	value := nsLabels[mesh.LabelRev]
	switch {
	case len(mine) == 0 && len(others) == 0:
		r.warning = fmt.Sprintf("no sidecar injector in the input selects a namespace labelled %s=%s for revision %s; unless one exists in the cluster, its pods will be recreated WITHOUT a sidecar", mesh.LabelRev, value, rev)
		if value != rev {
			r.warning += fmt.Sprintf(" (a revision tag's injector comes from `istioctl tag generate %s --revision %s`: add it to the input)", value, rev)
		}
	case len(mine) == 0:
		r.warning = fmt.Sprintf("a namespace labelled %s=%s is injected by %s, not by revision %s", mesh.LabelRev, value, strings.Join(others, ", "), rev)
	case len(others) > 0:
		r.warning = fmt.Sprintf("a namespace labelled %s=%s is also selected by %s: two injectors would mutate each pod", mesh.LabelRev, value, strings.Join(others, ", "))
	}
	return r
}

// restart annotates one workload's pod template, unless its pods are not
// ours to move.
func restart(m *mesh.Model, w *mesh.Workload, rev, value string, res *krm.Results) error {
	if w.Istiod() != nil {
		return nil
	}
	if g := w.Gateway(); g != nil {
		if g.Injected {
			res.Warnf(w.Object, "%s is an injected gateway: not restarted here, but the namespace label decides which injector serves it, so its next pod restart moves it to revision %s in place, without a canary; move it with revision-gateway first", w.ID, rev)
		} else {
			res.Infof(w.Object, "%s is a gateway (its proxy is rendered, not injected): not restarted; revision-gateway moves it", w.ID)
		}
		return nil
	}
	if not, why := w.NotInjected(); not {
		res.Infof(w.Object, "%s is not injected (%s): not restarted", w.ID, why)
		return nil
	}
	old, had := w.PodAnnotations[AnnotationRestartedFor]
	if had && old == rev {
		return nil
	}
	if err := setPodMeta(w.Object, "annotations", AnnotationRestartedFor, rev); err != nil {
		return err
	}
	was := "absent"
	if had {
		was = "was " + old
	}
	res.Infof(w.Object, "%s rolls onto revision %s: pod-template annotation %s=%s (%s); its new pods are injected by the injector of %s=%s", w.ID, rev, AnnotationRestartedFor, rev, was, mesh.LabelRev, value)
	if rolls, why := w.RollsOnTemplateChange(); !rolls {
		res.Warnf(w.Object, "%s: %s, so the annotation does not replace its pods; delete them (or unpause) to move them to revision %s", w.ID, why, rev)
	}
	return nil
}

// injectionLabels lists the injection labels a namespace carries.
func injectionLabels(nsLabels map[string]string) string {
	var out []string
	for _, k := range []string{mesh.LabelInjection, mesh.LabelRev} {
		if v, ok := nsLabels[k]; ok {
			out = append(out, k+"="+v)
		}
	}
	if len(out) == 0 {
		return "no injection label"
	}
	return strings.Join(out, ", ")
}

// relabel removes istio-injection and sets istio.io/rev in place, keeping
// the other labels, their order and comments.
func relabel(o *mesh.Object, value string) error {
	labelsNode, err := o.Node().Pipe(yaml.LookupCreate(yaml.MappingNode, "metadata", "labels"))
	if err != nil {
		return fmt.Errorf("%s: metadata.labels: %v", o.ID, err)
	}
	y := labelsNode.YNode()
	for i := 0; i+1 < len(y.Content); i += 2 {
		if y.Content[i].Value == mesh.LabelInjection {
			y.Content = append(y.Content[:i], y.Content[i+2:]...)
			break
		}
	}
	setString(y, mesh.LabelRev, value)
	return nil
}

// setPodMeta sets key in the pod template's metadata field (labels or
// annotations), created when missing.
func setPodMeta(o *mesh.Object, field, key, value string) error {
	m, err := o.Node().Pipe(yaml.LookupCreate(yaml.MappingNode, "spec", "template", "metadata", field))
	if err != nil {
		return fmt.Errorf("%s: spec.template.metadata.%s: %v", o.ID, field, err)
	}
	setString(m.YNode(), key, value)
	return nil
}

// setString sets key to a string value in a mapping node, in place when the
// key exists (the key keeps its comments; a comment on the old value is
// dropped, it described the old value), appended otherwise. The !!str tag
// makes the encoder quote values that would otherwise read as numbers.
func setString(mapping *yaml.Node, key, value string) {
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: value}
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		if mapping.Content[i].Value == key {
			mapping.Content[i+1] = v
			return
		}
	}
	mapping.Content = append(mapping.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: key}, v)
}
