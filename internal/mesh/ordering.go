package mesh

import (
	"fmt"
	"strconv"
	"strings"
)

// Apply ordering: the annotations by which GitOps appliers order the objects
// of one apply, read so that the verifier can tell whether a step that adds
// new endpoints and removes old ones makes them in the right order.

const (
	// AnnotationSyncWave is Argo CD's sync wave: lower waves are applied
	// first, and each wave waits until its resources are healthy before the
	// next starts; resources pruned are deleted in their (live) wave, higher
	// waves first (argo-cd docs/user-guide/sync-waves.md).
	AnnotationSyncWave = "argocd.argoproj.io/sync-wave"
	// AnnotationSyncOptions holds Argo CD per-resource sync options such as
	// PruneLast=true, which prunes the resource after every other wave is
	// synced and healthy (argo-cd docs/user-guide/sync-options.md,
	// argoproj/argo-cd#5199).
	AnnotationSyncOptions = "argocd.argoproj.io/sync-options"
	// AnnotationDependsOn is kpt's depends-on: the object is applied only
	// after the objects it names are reconciled (kpt live apply).
	AnnotationDependsOn = "config.kubernetes.io/depends-on"
)

// SyncWave returns an object's Argo CD sync wave (0 when unset, the Argo CD
// default). A value that is not an integer is an error naming the field.
func SyncWave(o *Object) (int, error) {
	v, _ := o.Annotation(AnnotationSyncWave)
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: metadata.annotations[%s]: expected an integer, got %q", o.ID, AnnotationSyncWave, v)
	}
	return n, nil
}

// PruneLast reports whether Argo CD prunes the object only after all waves
// (sync option PruneLast=true on the object).
func PruneLast(o *Object) bool {
	opts, _ := o.Annotation(AnnotationSyncOptions)
	for _, opt := range strings.Split(opts, ",") {
		if strings.EqualFold(strings.ReplaceAll(strings.TrimSpace(opt), " ", ""), "PruneLast=true") {
			return true
		}
	}
	return false
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
