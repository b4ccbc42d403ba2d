package mesh

// AnnotationCanaryOf marks an object that revision-gateway made out of a
// rendered object under another name (a canary gateway's Deployment, its
// ServiceAccount, PDB, HPA, Role and RoleBinding): its value is the
// rendered name. The canary has the rendered object's kind and namespace.
// It is the record that the object stands in for the rendered one; nothing
// guesses that from a name suffix.
const AnnotationCanaryOf = "revshift.dev/canary-of"

// CanaryOf returns the identity of the rendered object o stands in for
// (AnnotationCanaryOf: same group, kind and namespace, the annotation's
// name), and whether o is a canary at all.
func (o *Object) CanaryOf() (ID, bool) {
	name, ok := o.Annotation(AnnotationCanaryOf)
	if !ok || name == "" {
		return ID{}, false
	}
	return ID{Group: o.ID.Group, Kind: o.ID.Kind, Namespace: o.ID.Namespace, Name: name}, true
}

// Canaries indexes the canaries of a model by the identity of the rendered
// object each stands in for, in input order.
func (m *Model) Canaries() map[ID][]*Object {
	out := map[ID][]*Object{}
	for _, o := range m.Objects {
		if of, ok := o.CanaryOf(); ok {
			out[of] = append(out[of], o)
		}
	}
	return out
}

// CanaryName is the name revision-gateway gives the canary copy of an
// object rendered as name for revision rev: the two renders keep the same
// names (istioctl renders the unchanged gateway IstioOperator with -r
// <rev>), so one of them must be renamed to run side by side.
func CanaryName(name, rev string) string { return name + "-" + rev }
