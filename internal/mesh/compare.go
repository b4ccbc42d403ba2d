package mesh

import (
	"reflect"
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
