// Package copyconfigmap is step S2 of the upgrade (see
// docs/upgrade-model.md): every gateway outside the control-plane
// namespace mounts its revision's mesh ConfigMap (istio-<rev>) as the
// optional volume config-volume. When that ConfigMap is missing from the
// gateway's namespace, the proxy starts anyway and silently connects to the
// default istiod (mesh.FallbackDiscoveryAddress), i.e. the OLD control plane.
// This function adds the missing copies.
package copyconfigmap

import (
	"fmt"
	"slices"
	"sort"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "CopyConfigMap"

// Markers on every copy, so that it can be found and pruned later.
const (
	// LabelCopyOf names the source ConfigMap (a name is a valid label value).
	LabelCopyOf = "revshift.dev/copy-of"
	// AnnotationCopiedFrom names the source as namespace/name.
	AnnotationCopiedFrom = "revshift.dev/copied-from"
)

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: CopyConfigMap
//	metadata: {name: copy}
//	spec:
//	  revisions: [1-6-14]     # only gateways of these revisions
//	  namespaces: [default]   # only gateways in these namespaces
//	  overwrite: false        # replace a differing ConfigMap instead of failing
//	  targetNamespaces: [ns]  # also copy the revisions' ConfigMaps here, before any
//	                          # gateway there mounts them (needs revisions)
//	  ordering:
//	    argocdSyncWave: "-1"  # sync-wave annotation on each copy
//	    kptDependsOn: true    # depends-on annotation on each gateway
type Spec struct {
	Revisions  []string `yaml:"revisions,omitempty"`
	Namespaces []string `yaml:"namespaces,omitempty"`
	Overwrite  bool     `yaml:"overwrite,omitempty"`
	// TargetNamespaces pre-stages the ConfigMaps of Revisions in these
	// namespaces, for gateways that a later step adds (revshift plan's
	// gateway-config step, which precedes the canary gateways).
	TargetNamespaces []string `yaml:"targetNamespaces,omitempty"`
	Ordering         Ordering `yaml:"ordering,omitempty"`
}

// want is one ConfigMap that must exist in a namespace, and why.
type want struct {
	ns, name, rev string
	gateway       *mesh.Gateway // nil for a pre-staged copy
}

// Ordering makes the copy land before the gateway pods that mount it.
type Ordering struct {
	ArgoCDSyncWave string `yaml:"argocdSyncWave,omitempty"`
	KptDependsOn   bool   `yaml:"kptDependsOn,omitempty"`
}

// Validate checks spec.revisions (krm.DecodeConfig calls it).
func (s Spec) Validate() error {
	for _, r := range s.Revisions {
		if err := mesh.ValidRevision(r); err != nil {
			return fmt.Errorf("functionConfig spec.revisions: %v", err)
		}
	}
	return nil
}

// Transform adds the missing ConfigMap copies. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	var spec Spec
	m, err := krm.Load(items, config, Kind, &spec)
	if err != nil {
		return nil, err
	}
	if len(spec.TargetNamespaces) > 0 && len(spec.Revisions) == 0 {
		return nil, fmt.Errorf("functionConfig spec.targetNamespaces: needs spec.revisions (which revisions' ConfigMaps to copy)")
	}
	c := &copier{m: m, spec: spec, res: res, out: items, done: map[mesh.ID]bool{}}
	for _, w := range wants(m, spec) {
		if err := c.ensure(w); err != nil {
			return nil, err
		}
	}
	if spec.Ordering.KptDependsOn {
		for _, g := range m.Gateways {
			target := mesh.ID{Kind: "ConfigMap", Namespace: g.ID.Namespace, Name: g.ConfigMap}
			if c.done[target] {
				if err := addDependsOn(g.Node(), target); err != nil {
					return nil, err
				}
			}
		}
	}
	return c.out, nil
}

// wants are the ConfigMaps the selected gateways mount, then those
// pre-staged in spec.targetNamespaces.
func wants(m *mesh.Model, spec Spec) []want {
	var out []want
	for _, g := range m.Gateways {
		if g.ConfigMap == "" || g.Injected {
			continue
		}
		rev, ok := mesh.RevisionOfConfigMap(g.ConfigMap)
		if !ok {
			continue // config-volume mounts something that is not a mesh ConfigMap
		}
		if (len(spec.Revisions) > 0 && !slices.Contains(spec.Revisions, rev)) ||
			(len(spec.Namespaces) > 0 && !slices.Contains(spec.Namespaces, g.ID.Namespace)) {
			continue
		}
		out = append(out, want{ns: g.ID.Namespace, name: g.ConfigMap, rev: rev, gateway: g})
	}
	for _, ns := range spec.TargetNamespaces {
		for _, rev := range spec.Revisions {
			out = append(out, want{ns: ns, name: mesh.MeshConfigMapName(rev), rev: rev})
		}
	}
	return out
}

// copier adds the copies to out; done are the ConfigMaps in place (copied,
// or overwritten or found equal).
type copier struct {
	m    *mesh.Model
	spec Spec
	res  *krm.Results
	out  []*mesh.Item
	done map[mesh.ID]bool
}

// ensure makes the ConfigMap w wants exist in its namespace, with its
// source's data: copied there, or an existing one checked (or overwritten,
// spec.overwrite).
func (c *copier) ensure(w want) error {
	ns := w.ns
	target := mesh.ID{Kind: "ConfigMap", Namespace: ns, Name: w.name}
	for_, user := "pre-staged for the gateways of a later step", "the gateways of a later step will mount"
	if w.gateway != nil {
		for_, user = "for gateway "+w.gateway.ID.String(), "gateway "+w.gateway.ID.String()+" mounts"
	}
	src := source(c.m, w.rev, w.name, ns)
	if existing, ok := c.m.Get(target); ok {
		if src == nil || src == existing || c.done[target] {
			return nil
		}
		if same, diff := sameData(src.Node(), existing.Node()); !same {
			if !c.spec.Overwrite {
				c.res.Errorf(existing, "%s already exists with different data than %s (%s); it is the one %s. Remove it, or set spec.overwrite: true to replace its data", target, src.ID, diff, user)
				return nil
			}
			if err := replaceData(existing.Node(), src.Node()); err != nil {
				return err
			}
			c.res.Infof(existing, "overwrote the data of %s with %s's (spec.overwrite) %s", target, src.ID, for_)
		}
		c.done[target] = true
		return nil
	}
	if c.done[target] {
		return nil
	}
	if src == nil {
		c.missing(w)
		return nil
	}
	if src.ID.Namespace == ns {
		return nil
	}
	cp, err := copyOf(src, ns, c.spec.Ordering.ArgoCDSyncWave)
	if err != nil {
		return err
	}
	it, err := mesh.NewTextItem(cp)
	if err != nil {
		return err
	}
	c.out = append(c.out, it)
	c.done[target] = true
	c.res.Infof(&mesh.Object{APIVersion: "v1", ID: target}, "copied %s into namespace %s %s (revision %s)", src.ID, ns, for_, w.rev)
	return nil
}

// missing reports a wanted ConfigMap that exists nowhere in the input.
func (c *copier) missing(w want) {
	if w.gateway == nil {
		if _, inNS := c.m.ConfigMap(w.ns, w.name); !inNS {
			c.res.Errorf(nil, "spec.targetNamespaces: ConfigMap %s of revision %s exists nowhere in the input (render the revision's control plane into the same input)", w.name, w.rev)
		}
		return
	}
	c.res.Warnf(w.gateway.Object, "gateway %s mounts ConfigMap %s (revision %s), which exists nowhere in the input; the volume is optional, so the gateway will start and silently connect to the default istiod (%s) instead of revision %s", w.gateway.ID, w.name, w.rev, mesh.FallbackDiscoveryAddress, w.rev)
}

// source finds the ConfigMap to copy: the one in the namespace of the
// revision's istiod, else in istio-system, else the only other one.
func source(m *mesh.Model, rev, name, exceptNS string) *mesh.Object {
	var nss []string
	for _, i := range m.IstiodsOf(rev) {
		nss = append(nss, i.ID.Namespace)
	}
	nss = append(nss, "istio-system")
	for _, ns := range nss {
		if ns == exceptNS {
			continue
		}
		if o, ok := m.ConfigMap(ns, name); ok && !isCopy(o) {
			return o
		}
	}
	var found []*mesh.Object
	for _, o := range m.ByKind("ConfigMap") {
		if o.ID.Group == "" && o.ID.Name == name && o.ID.Namespace != exceptNS && !isCopy(o) {
			found = append(found, o)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return nil
}

func isCopy(o *mesh.Object) bool {
	v, _ := o.Label(LabelCopyOf)
	return v != ""
}

// dataFields are the ConfigMap fields a copy carries.
var dataFields = []string{"data", "binaryData"}

// sameData compares data and binaryData, and says which key differs.
func sameData(a, b *yaml.RNode) (bool, string) {
	for _, f := range dataFields {
		am, bm := scalars(a.Field(f)), scalars(b.Field(f))
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			av, aok := am[k]
			bv, bok := bm[k]
			if aok != bok || av != bv {
				return false, fmt.Sprintf("%s.%s differs", f, k)
			}
		}
	}
	return true, ""
}

func scalars(f *yaml.MapNode) map[string]string {
	out := map[string]string{}
	if f == nil || f.Value == nil || f.Value.YNode().Kind != yaml.MappingNode {
		return out
	}
	c := f.Value.YNode().Content
	for i := 0; i+1 < len(c); i += 2 {
		out[c[i].Value] = c[i+1].Value
	}
	return out
}

func replaceData(dst, src *yaml.RNode) error {
	for _, f := range dataFields {
		if err := dst.PipeE(yaml.Clear(f)); err != nil {
			return err
		}
		if v := src.Field(f); v != nil {
			if err := dst.PipeE(yaml.SetField(f, v.Value.Copy())); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyOf builds a fresh ConfigMap in namespace ns with the source's data,
// binaryData and labels, and none of its server-side or tool metadata
// (resourceVersion, uid, managedFields, ownerReferences, last-applied,
// kustomize/kpt bookkeeping annotations, status).
func copyOf(src *mesh.Object, ns, syncWave string) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	if err := n.PipeE(yaml.SetField("apiVersion", yaml.NewStringRNode("v1"))); err != nil {
		return nil, err
	}
	if err := n.PipeE(yaml.SetField("kind", yaml.NewStringRNode("ConfigMap"))); err != nil {
		return nil, err
	}
	if err := n.SetName(src.ID.Name); err != nil {
		return nil, err
	}
	if err := n.SetNamespace(ns); err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range src.Node().GetLabels() {
		labels[k] = v
	}
	labels[LabelCopyOf] = src.ID.Name
	if err := n.SetLabels(labels); err != nil {
		return nil, err
	}
	ann := map[string]string{AnnotationCopiedFrom: src.ID.Namespace + "/" + src.ID.Name}
	for k, v := range src.Node().GetAnnotations() {
		if !mesh.IsToolAnnotation(k) {
			ann[k] = v
		}
	}
	if syncWave != "" {
		ann[mesh.AnnotationSyncWave] = syncWave
	}
	if err := n.SetAnnotations(ann); err != nil {
		return nil, err
	}
	for _, f := range dataFields {
		if v := src.Node().Field(f); v != nil {
			if err := n.PipeE(yaml.SetField(f, v.Value.Copy())); err != nil {
				return nil, err
			}
		}
	}
	return n, nil
}

// addDependsOn adds id to n's kpt depends-on annotation (mesh.DependsOn).
func addDependsOn(n *yaml.RNode, id mesh.ID) error {
	v, changed := mesh.WithDependsOn(n.GetAnnotations()[mesh.AnnotationDependsOn], id)
	if !changed {
		return nil
	}
	return n.PipeE(yaml.SetAnnotation(mesh.AnnotationDependsOn, v))
}
