package mesh

// AnnotationCanaryOf is written by revision-gateway on every object it
// makes from a carried canary render (AnnotationCanaryRender): the name the
// object was rendered under (same kind and namespace). It is the typed
// record of what a canary object stands for; nothing infers it from names.
const AnnotationCanaryOf = "revshift.dev/canary-of"

// CanaryName is the name revision-gateway gives the canary copy of an
// object rendered as name for revision rev: the two renders keep the same
// names (istioctl renders the unchanged gateway IstioOperator with -r
// <rev>), so one of them must be renamed to run side by side.
func CanaryName(name, rev string) string { return name + "-" + rev }

// CanaryOf returns the rendered name an object stands for when it is a
// canary copy.
func (o *Object) CanaryOf() (string, bool) {
	v, ok := o.Annotation(AnnotationCanaryOf)
	return v, ok && v != ""
}
