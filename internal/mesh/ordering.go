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
