package mesh

import (
	"fmt"
	"strings"
)

// AnnotationDependsOn is kpt's depends-on: the object is applied only after
// the objects it names are reconciled (kpt live apply). DependsOn reads it;
// DependsOnRef and WithDependsOn write it.
const AnnotationDependsOn = "config.kubernetes.io/depends-on"

// DependsOnRef is kpt's reference to an object in a depends-on annotation,
// in the form DependsOn reads: <group>/namespaces/<namespace>/<kind>/<name>,
// or <group>/<kind>/<name> for a cluster-scoped object.
func DependsOnRef(id ID) string {
	if id.Namespace == "" {
		return id.Group + "/" + id.Kind + "/" + id.Name
	}
	return id.Group + "/namespaces/" + id.Namespace + "/" + id.Kind + "/" + id.Name
}

// WithDependsOn is the depends-on annotation cur with the references of
// ids added, once each, after those already there; changed is false when
// cur names them all already.
func WithDependsOn(cur string, ids ...ID) (v string, changed bool) {
	have := map[string]bool{}
	var list []string
	for _, r := range strings.Split(cur, ",") {
		if r = strings.TrimSpace(r); r != "" && !have[r] {
			have[r] = true
			list = append(list, r)
		}
	}
	for _, id := range ids {
		if r := DependsOnRef(id); !have[r] {
			have[r] = true
			list = append(list, r)
			changed = true
		}
	}
	return strings.Join(list, ","), changed
}

// DependsOn returns the identities named by an object's kpt depends-on
// annotation: a comma-separated list of <group>/namespaces/<ns>/<kind>/<name>
// (namespaced) or <group>/<kind>/<name> (cluster-scoped); the group is empty
// for the core API. An entry of another shape is an error naming it.
func DependsOn(o *Object) ([]ID, error) {
	v, _ := o.Annotation(AnnotationDependsOn)
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []ID
	for _, ref := range strings.Split(v, ",") {
		ref = strings.TrimSpace(ref)
		parts := strings.Split(ref, "/")
		switch {
		case len(parts) == 5 && parts[1] == "namespaces" && parts[3] != "" && parts[4] != "":
			out = append(out, ID{Group: parts[0], Namespace: parts[2], Kind: parts[3], Name: parts[4]})
		case len(parts) == 3 && parts[1] != "" && parts[2] != "":
			out = append(out, ID{Group: parts[0], Kind: parts[1], Name: parts[2]})
		default:
			return nil, fmt.Errorf("%s: metadata.annotations[%s]: %q is not <group>/namespaces/<namespace>/<kind>/<name> or <group>/<kind>/<name>", o.ID, AnnotationDependsOn, ref)
		}
	}
	return out, nil
}
