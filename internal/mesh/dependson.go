package mesh

import "strings"

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
