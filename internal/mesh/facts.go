package mesh

import (
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// PackItems packs the identities in the facts of items read as text into
// one string (see packIDs); krm does it once per ResourceList.
func PackItems(items []*Item) {
	fs := make([]*facts, 0, len(items))
	for _, it := range items {
		if it.facts != nil {
			fs = append(fs, it.facts)
		}
	}
	packIDs(fs)
}

// packIDs rewrites the identities of facts (nil entries skipped) as slices
// of one string, in order (see the package doc, Performance). The facts'
// kinds share f.obj, so they follow.
func packIDs(fs []*facts) {
	total := 0
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			total += len(id.Group) + len(id.Kind) + len(id.Namespace) + len(id.Name) + len(f.obj.APIVersion)
		}
	}
	var b strings.Builder
	b.Grow(total)
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			b.WriteString(id.Group)
			b.WriteString(id.Kind)
			b.WriteString(id.Namespace)
			b.WriteString(id.Name)
			b.WriteString(f.obj.APIVersion)
		}
	}
	arena, off := b.String(), 0
	next := func(n int) string {
		s := arena[off : off+n]
		off += n
		return s
	}
	for _, f := range fs {
		if f != nil && f.obj != nil {
			id := f.obj.ID
			f.obj.ID = ID{Group: next(len(id.Group)), Kind: next(len(id.Kind)), Namespace: next(len(id.Namespace)), Name: next(len(id.Name))}
			f.obj.APIVersion = next(len(f.obj.APIVersion))
		}
	}
}

// facts are what Build reads from one object, whatever its position in a
// list: its identity and its kind's parsed fields (a *Workload, *Service,
// ... whose Object is a placeholder until Build binds it).
type facts struct {
	// obj is the placeholder the kind's facts point to; it holds the
	// identity and no item.
	obj   *Object
	idErr *IdentityError
	kind  any
	err   error
	// marks are the object's own revshift.dev/ labels ("l:"+key) and
	// annotations ("a:"+key): functions look them up on every object.
	marks map[string]string
}

func readFacts(n *yaml.RNode) *facts {
	id, apiVersion, err := identify(n)
	if err != nil {
		return &facts{idErr: err}
	}
	// The placeholder holds no node: facts outlive the parse of the text
	// they were read from, the tree must not.
	f := &facts{obj: &Object{ID: id, APIVersion: apiVersion}, marks: readMarks(n.YNode())}
	f.kind, f.err = parseKind(f.obj, n.YNode())
	return f
}

// markPrefix is the prefix of the labels and annotations an item's facts
// keep, besides the few others functions and the verifier read on every
// object (factKey).
const markPrefix = "revshift.dev/"

// factKeys are the labels ("l:") and annotations ("a:") other than
// revshift.dev/ ones that an item's facts keep.
var factKeys = map[string]bool{
	"a:" + AnnotationSyncWave:    true,
	"a:" + AnnotationSyncOptions: true,
	"a:" + AnnotationDependsOn:   true,
	"a:" + AnnotationLocalConfig: true,
	// kustomize's record of a renamed object (revision-gateway refuses a
	// canary renamed next to the running render: kubernetes-sigs/kustomize#5856).
	"a:internal.config.kubernetes.io/previousNames":      true,
	"a:internal.config.kubernetes.io/previousNamespaces": true,
	// Flux's prune protection, which prune-legacy sets next to Argo CD's
	// sync-options (an annotation in the facts can be written as text).
	"a:kustomize.toolkit.fluxcd.io/prune": true,
	"l:" + LabelRev:                       true,
}

// factKey reports whether an item's facts hold the label or annotation
// (tag "l:" or "a:").
func factKey(tag, key string) bool {
	return strings.HasPrefix(key, markPrefix) || factKeys[tag+key]
}

func readMarks(y *yaml.Node) map[string]string {
	var out map[string]string
	for _, f := range []struct{ field, tag string }{{"labels", "l:"}, {"annotations", "a:"}} {
		m := lookup(y, "metadata", f.field)
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; factKey(f.tag, k) && m.Content[i+1].Kind == yaml.ScalarNode {
				if out == nil {
					out = map[string]string{}
				}
				out[f.tag+k] = m.Content[i+1].Value
			}
		}
	}
	return out
}

// parseKind reads the fields the model indexes for the object's kind (nil
// for kinds it does not index).
func parseKind(o *Object, y *yaml.Node) (any, error) {
	id := o.ID
	switch {
	case isWorkloadKind(id):
		return parseWorkload(o, y)
	case id.Group == "" && id.Kind == "Service":
		return parseService(o, y)
	case id.Group == "networking.istio.io" && id.Kind == "Gateway":
		return parseIstioGateway(o, y)
	case id.Group == "admissionregistration.k8s.io" && (id.Kind == "ValidatingWebhookConfiguration" || id.Kind == "MutatingWebhookConfiguration"):
		return parseWebhooks(o, y)
	case id.Group == "policy" && id.Kind == "PodDisruptionBudget":
		sel, err := parseLabelSelector(lookup(y, "spec", "selector"), "spec.selector")
		if err != nil {
			return nil, err
		}
		return newPDB(o, sel), nil
	case id.Group == "autoscaling" && id.Kind == "HorizontalPodAutoscaler":
		return parseHPA(o, y)
	case IsBinding(id):
		return parseBinding(o, y)
	case IsRole(id):
		return parseRole(o, y)
	case id.Group == "" && id.Kind == "Namespace":
		l, err := stringMap(lookup(y, "metadata", "labels"), "metadata.labels")
		if err != nil {
			return nil, err
		}
		return &Namespace{Object: o, Labels: l}, nil
	}
	return nil, nil
}

// withMark returns a copy of the facts with one more mark (facts are
// shared by the items and models read from the same text: never changed in
// place).
func (f *facts) withMark(mark, value string) *facts {
	marks := make(map[string]string, len(f.marks)+1)
	for k, v := range f.marks {
		marks[k] = v
	}
	marks[mark] = value
	nf := *f
	nf.marks = marks
	return &nf
}

// withoutMark returns a copy of the facts without a mark.
func (f *facts) withoutMark(mark string) *facts {
	marks := make(map[string]string, len(f.marks))
	for k, v := range f.marks {
		if k != mark {
			marks[k] = v
		}
	}
	nf := *f
	nf.marks = marks
	return &nf
}
