package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsToolAnnotation(t *testing.T) {
	for k, want := range map[string]bool{
		"config.kubernetes.io/index":                       true,
		"internal.config.kubernetes.io/path":               true,
		"kubectl.kubernetes.io/last-applied-configuration": true,
		"deployment.kubernetes.io/revision":                true,
		"argocd.argoproj.io/sync-wave":                     true,
		"kustomize.toolkit.fluxcd.io/prune":                true,
		"kubectl.kubernetes.io/restartedAt":                false,
		"revshift.dev/copied-from":                         false,
		"sidecar.istio.io/inject":                          false,
	} {
		assert.Equal(t, want, IsToolAnnotation(k), k)
	}
}
