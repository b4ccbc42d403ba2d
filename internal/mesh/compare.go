package mesh

import (
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// bookkeepingPrefixes are the annotations kustomize and kpt add to the
// items they hand a function (index, path, id, legacy migration ids): they
// describe the pipeline, not the object.
var bookkeepingPrefixes = []string{"config.kubernetes.io/", "internal.config.kubernetes.io/", "config.k8s.io/", "kustomize.config.k8s.io/"}

// IsBookkeepingAnnotation reports whether an annotation is kustomize's or
// kpt's pipeline bookkeeping (config.kubernetes.io/local-config included).
func IsBookkeepingAnnotation(k string) bool {
	for _, p := range bookkeepingPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// stateAnnotations are the annotations appliers and controllers write on an
// object about its own copy of it (kubectl's last-applied configuration,
// the Deployment controller's revision, Argo CD's and Flux's per-object
// sync settings): a copy of the object for another place must not carry
// them.
var stateAnnotations = []string{"kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/", "argocd.argoproj.io/", "kustomize.toolkit.fluxcd.io/"}

// IsToolAnnotation reports whether an annotation belongs to the tools that
// handle the object rather than to the object: pipeline bookkeeping
// (IsBookkeepingAnnotation), or an applier's or controller's state.
func IsToolAnnotation(k string) bool {
	if IsBookkeepingAnnotation(k) {
		return true
	}
	for _, p := range stateAnnotations {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// Plain decodes an object into plain Go values, without its bookkeeping
// annotations (and without an annotations map left empty by their removal).
func Plain(n *yaml.RNode) map[string]any {
	var m map[string]any
	if err := n.YNode().Decode(&m); err != nil {
		return nil
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			for k := range ann {
				if IsBookkeepingAnnotation(k) {
					delete(ann, k)
				}
			}
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	return m
}

// SameObject compares two objects as the API server would store them:
// field order, styles, comments and pipeline bookkeeping do not count.
func SameObject(a, b *yaml.RNode) bool {
	return reflect.DeepEqual(Plain(a), Plain(b))
}

// Difference is one field where two plain objects differ: its path (map
// keys, and "[i]" for a list element) and the value on each side (nil where
// the field is absent).
type Difference struct {
	Path []string
	A, B any
}

// String renders the path, e.g. "spec.template.spec.containers[0].image".
func (d Difference) String() string {
	var b strings.Builder
	for i, p := range d.Path {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	if b.Len() == 0 {
		return "(object)"
	}
	return b.String()
}

// Under reports whether the difference is at path prefix or inside it.
func (d Difference) Under(prefix ...string) bool {
	if len(d.Path) < len(prefix) {
		return false
	}
	for i, p := range prefix {
		if d.Path[i] != p {
			return false
		}
	}
	return true
}

// Differences lists where two plain objects (see Plain) differ, deepest
// field first reached, maps in key order and lists element by element (a
// longer list differs at each element the shorter one lacks). Nil when
// they are the same.
func Differences(a, b map[string]any) []Difference {
	var out []Difference
	diffValues(nil, a, b, &out)
	return out
}

func diffValues(path []string, a, b any, out *[]Difference) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	// An absent map or list on one side differs at each of the other's
	// fields or elements.
	if aok && b == nil || bok && a == nil {
		aok, bok = true, true
	}
	if aok && bok {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			diffValues(append(path[:len(path):len(path)], k), am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && b == nil || bok && a == nil {
		aok, bok = true, true
	}
	if aok && bok {
		for i := 0; i < max(len(al), len(bl)); i++ {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			diffValues(append(path[:len(path):len(path)], "["+strconv.Itoa(i)+"]"), x, y, out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Difference{Path: path, A: a, B: b})
	}
}
