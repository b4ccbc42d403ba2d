package prunelegacy

import (
	"fmt"
	"path"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// readItems identifies every input object and tells old from desired.
func readItems(items []*mesh.Item, oldPaths []string) ([]*item, error) {
	var errs, retired []string
	its := make([]*item, 0, len(items))
	var runningCarriers []*mesh.Item
	for i, n := range items {
		if mesh.IsCarrier(n, mesh.AnnotationHeldRender) {
			continue // read by applyHeld
		}
		if mesh.IsRunningRender(n) {
			// The running render carried as the data of a local-config
			// ConfigMap (canary-control-plane's input, revshift plan's
			// inputs/): its objects are the old state. The carrier itself
			// is never applied, never deleted, and not passed on.
			runningCarriers = append(runningCarriers, n)
			continue
		}
		o, err := mesh.IdentifyItem(i, n)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if o.ID.Kind == removedCarrierKind && o.APIVersion == krm.APIVersion {
			retired = append(retired, fmt.Sprintf("items[%d]: %s %s: the %s carrier (written by the removed mode %s) is no longer read, and is not a desired object either", i, removedCarrierKind, o.ID.Name, removedCarrierKind, removedModeMarkOld))
			continue
		}
		state, set, err := stateOf(o)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		it := &item{node: n, obj: o, old: set && state == StateOld}
		if !it.old && len(oldPaths) > 0 {
			it.old = pathMatches(n.Node(), oldPaths)
		}
		its = append(its, it)
	}
	if len(retired) > 0 {
		errs = append(errs, strings.Join(retired, "\n")+"\n"+carrierHint)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	its, err := addRunning(items, its, runningCarriers)
	if err != nil {
		return nil, err
	}
	if its, err = applyHeld(items, its); err != nil {
		return nil, err
	}
	return its, checkDuplicates(its)
}

// addRunning appends the objects of the running-render carriers to the old
// state. An object already marked old in the items (canary-control-plane
// re-emits the running objects, and later steps edit them, e.g. the shift)
// is that object's current form: the carried copy is not a second old
// object.
func addRunning(items []*mesh.Item, its []*item, carriers []*mesh.Item) ([]*item, error) {
	if len(carriers) == 0 {
		return its, nil
	}
	objs, _, err := mesh.RunningRender(carriers)
	if err != nil {
		return nil, err
	}
	marked := map[mesh.ID]bool{}
	for _, it := range its {
		if it.old {
			marked[mesh.CanonicalID(it.obj.ID)] = true
		}
	}
	for j, n := range objs {
		o, err := mesh.IdentifyItem(len(items)+j, n)
		if err != nil {
			return nil, fmt.Errorf("running render: %v", err)
		}
		if marked[mesh.CanonicalID(o.ID)] {
			continue
		}
		its = append(its, &item{node: o.Item(), obj: o, old: true})
	}
	return its, nil
}

// checkDuplicates reports two objects of one identity within one state,
// with the real input positions.
func checkDuplicates(its []*item) error {
	var dups []string
	for _, old := range []bool{true, false} {
		seen := map[mesh.ID]int{}
		for _, it := range its {
			if it.old != old {
				continue
			}
			id := mesh.CanonicalID(it.obj.ID)
			if prev, ok := seen[id]; ok {
				dups = append(dups, (&mesh.DuplicateError{ID: it.obj.ID, First: prev, Second: it.obj.Index}).Error()+stateName(old))
				continue
			}
			seen[id] = it.obj.Index
		}
	}
	if len(dups) > 0 {
		return fmt.Errorf("%s", strings.Join(dups, "\n"))
	}
	return nil
}

func stateName(old bool) string {
	if old {
		return " (both in the old state)"
	}
	return " (both in the desired state)"
}

// stateOf reads the revshift.dev/state annotation.
func stateOf(o *mesh.Object) (string, bool, error) {
	v, ok := o.Annotation(AnnotationState)
	if !ok {
		return "", false, nil
	}
	if v != StateOld {
		return "", false, fmt.Errorf("items[%d]: %s: metadata.annotations[%s]: expected %q, got %q", o.Index, o.ID, AnnotationState, StateOld, v)
	}
	return v, true, nil
}

// Path annotations of the file an object was read from: kpt sets the
// internal one, older kpt and kyaml readers the legacy one.
var pathAnnotations = []string{"internal.config.kubernetes.io/path", "config.kubernetes.io/path"}

func pathMatches(n *yaml.RNode, patterns []string) bool {
	ann := field(field(n.YNode(), "metadata"), "annotations")
	for _, a := range pathAnnotations {
		v := field(ann, a)
		if v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			continue
		}
		p := path.Clean(strings.TrimPrefix(v.Value, "./"))
		for _, pat := range patterns {
			if strings.HasSuffix(pat, "/") {
				if strings.HasPrefix(p+"/", path.Clean(pat)+"/") {
					return true
				}
				continue
			}
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
	}
	return false
}

// field returns the value of a mapping key, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// item is one input object, or one object of a carried render.
type item struct {
	node *mesh.Item
	obj  *mesh.Object
	old  bool
}
