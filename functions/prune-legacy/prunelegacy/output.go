package prunelegacy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// deleteList is the old objects to delete in a safe order (deleteTier),
// each marked old so that the function gives the same list on its output.
func deleteList(mOld *mesh.Model, c *classification) ([]*mesh.Item, error) {
	var del []*mesh.Object
	for _, o := range mOld.Objects {
		if !c.dec[o.ID].keep {
			del = append(del, o)
		}
	}
	sort.SliceStable(del, func(i, j int) bool {
		ti, tj := deleteTier(del[i].ID), deleteTier(del[j].ID)
		if ti != tj {
			return ti < tj
		}
		return del[i].ID.Less(del[j].ID)
	})
	out := make([]*mesh.Item, 0, len(del))
	for _, o := range del {
		if err := o.Item().SetAnnotation(AnnotationState, StateOld); err != nil {
			return nil, fmt.Errorf("%s: metadata.annotations: %v", o.ID, err)
		}
		out = append(out, o.Item())
	}
	return out, nil
}

// deleteTier orders the delete list: admission webhooks first (so no call
// reaches an istiod that is going away), then autoscalers and workloads,
// then what they used: disruption budgets, Services, Istio configuration,
// ConfigMaps and Secrets, bindings, roles, and ServiceAccounts last.
func deleteTier(id mesh.ID) int {
	switch {
	case id.Group == "admissionregistration.k8s.io":
		return 0
	case id.Kind == "HorizontalPodAutoscaler":
		return 1
	case id.Kind == "Deployment" || id.Kind == "StatefulSet" || id.Kind == "DaemonSet" || id.Kind == "ReplicaSet":
		return 2
	case id.Kind == "PodDisruptionBudget":
		return 3
	case id.Group == "" && (id.Kind == "Service" || id.Kind == "Endpoints"):
		return 4
	case strings.HasSuffix(id.Group, ".istio.io"):
		return 5
	case id.Group == "" && (id.Kind == "ConfigMap" || id.Kind == "Secret"):
		return 6
	case id.Kind == "RoleBinding" || id.Kind == "ClusterRoleBinding":
		return 7
	case id.Kind == "Role" || id.Kind == "ClusterRole":
		return 8
	case id.Kind == "ServiceAccount":
		return 9
	}
	return 10
}

// addProtection sets the GitOps prune-protection annotations. An existing
// Argo CD sync-options list keeps its other options; a Prune= option in it
// is replaced.
func addProtection(it *mesh.Item, p Protection) error {
	if p.argocd() {
		cur, _ := it.Annotation(AnnotationArgoCDSyncOptions)
		var opts []string
		for _, s := range strings.Split(cur, ",") {
			s = strings.TrimSpace(s)
			if s != "" && !strings.HasPrefix(s, "Prune=") {
				opts = append(opts, s)
			}
		}
		opts = append(opts, ArgoCDPruneFalse)
		if v := strings.Join(opts, ","); v != cur {
			if err := it.SetAnnotation(AnnotationArgoCDSyncOptions, v); err != nil {
				return err
			}
		}
	}
	if p.flux() {
		if err := it.SetAnnotation(AnnotationFluxPrune, FluxPruneDisabled); err != nil {
			return err
		}
	}
	return nil
}

// Prune protection annotations (desired-state mode).
const (
	AnnotationArgoCDSyncOptions = "argocd.argoproj.io/sync-options"
	ArgoCDPruneFalse            = "Prune=false"
	AnnotationFluxPrune         = "kustomize.toolkit.fluxcd.io/prune"
	FluxPruneDisabled           = "disabled"
)
