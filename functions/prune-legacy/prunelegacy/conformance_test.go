package prunelegacy

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// hop describes one pair of real renders in ../shared/istio-renders.
type hop struct {
	name     string
	old      []string
	newCP    string
	newGW    string
	rev      string
	gateway  string // the user gateway's namespace/name
	mustGo   []string
	mustStay []string
}

var hops = []hop{
	{
		name:    "seed 1.5.10 -> 1.6.14",
		old:     []string{"1.5-to-1.6-seed/1.5.10/control-plane.yaml", "1.5-to-1.6-seed/1.5.10/gateways.yaml"},
		newCP:   "1.5-to-1.6-seed/1.6.14/control-plane.rev-1-6-14.yaml",
		newGW:   "1.5-to-1.6-seed/1.6.14/gateways.rev-1-6-14.yaml",
		rev:     "1-6-14",
		gateway: "default/custom-gw",
		mustGo: []string{
			"Deployment.apps/istio-system/istiod",
			"Service/istio-system/istio-pilot",
			"Deployment.apps/default/custom-gw",
			"ServiceAccount/default/custom-gw-service-account",
			"Role.rbac.authorization.k8s.io/default/custom-gw-sds",
			"RoleBinding.rbac.authorization.k8s.io/default/custom-gw-sds",
			"PodDisruptionBudget.policy/default/custom-gw",
			"MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector",
		},
		mustStay: []string{
			"Namespace/istio-system",
			"Service/default/custom-gw",
			"Service/istio-system/istio-ingressgateway",
			"ClusterRole.rbac.authorization.k8s.io/istiod-istio-system",
			// The validating webhook istiod-istio-system (in both renders)
			// calls Service istiod (istio/istio#28880).
			"Service/istio-system/istiod",
			// The Istio Gateway resources program the kept gateway pods.
			"Gateway.networking.istio.io/default/custom-gw",
			"Gateway.networking.istio.io/istio-system/istio-ingressgateway",
		},
	},
	{
		name:    "modern 1.29.6 -> 1.31.0",
		old:     []string{"1.29-to-1.31-modern/1.29.6/control-plane.yaml", "1.29-to-1.31-modern/1.29.6/gateways.yaml"},
		newCP:   "1.29-to-1.31-modern/1.31.0/control-plane.rev-1-31-0.yaml",
		newGW:   "1.29-to-1.31-modern/1.31.0/gateways.rev-1-31-0.yaml",
		rev:     "1-31-0",
		gateway: "default/custom-gw",
		mustGo: []string{
			"Deployment.apps/istio-system/istiod",
			"Deployment.apps/default/custom-gw",
			"ServiceAccount/default/custom-gw-service-account",
			"Role.rbac.authorization.k8s.io/default/custom-gw-sds",
			"RoleBinding.rbac.authorization.k8s.io/default/custom-gw-sds",
			"HorizontalPodAutoscaler.autoscaling/default/custom-gw",
			"ValidatingWebhookConfiguration.admissionregistration.k8s.io/istio-validator-istio-system",
			"MutatingWebhookConfiguration.admissionregistration.k8s.io/istio-sidecar-injector",
			"Service/istio-system/istiod",
			"ConfigMap/istio-system/istio",
		},
		mustStay: []string{
			"Service/default/custom-gw",
			"Service/istio-system/istio-ingressgateway",
			"Deployment.apps/istio-system/istio-ingressgateway",
		},
	},
}

// renamed matches the names a canary copy of the user gateway changes.
var renamed = regexp.MustCompile(`(?m)(^\s*(?:- )?(?:name|serviceAccountName): )custom-gw`)

// desiredState is the state after S6: the new control-plane render, and the
// user gateway rendered for the new revision under a distinct name (its
// production Service unchanged) with its mesh ConfigMap copied (S2).
func desiredState(t *testing.T, h hop) []*yaml.RNode {
	t.Helper()
	out := krmtest.Render(t, h.newCP)
	var cm *yaml.RNode
	for _, n := range out {
		if n.GetKind() == "ConfigMap" && n.GetName() == mesh.MeshConfigMapName(h.rev) {
			cm = n.Copy()
		}
	}
	if cm == nil {
		t.Fatalf("%s: no ConfigMap %s", h.newCP, mesh.MeshConfigMapName(h.rev))
	}
	if err := cm.SetNamespace("default"); err != nil {
		t.Fatal(err)
	}
	out = append(out, cm)
	for _, n := range krmtest.Render(t, h.newGW) {
		if n.GetKind() != "Service" {
			s := renamed.ReplaceAllString(n.MustString(), "${1}custom-gw-"+h.rev)
			n = yaml.MustParse(s)
		}
		out = append(out, n)
	}
	return out
}

func markedOld(t *testing.T, h hop) []*yaml.RNode {
	t.Helper()
	old := krmtest.Render(t, h.old...)
	for _, n := range old {
		if err := n.PipeE(yaml.SetAnnotation(AnnotationState, StateOld)); err != nil {
			t.Fatal(err)
		}
	}
	return old
}

func config(mode string) *yaml.RNode {
	return yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: PruneLegacy\nmetadata: {name: prune}\nspec:\n  mode: " + mode + "\n")
}

func ids(t *testing.T, items []*yaml.RNode) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for i, n := range items {
		o, err := mesh.Identify(i, n)
		if err != nil {
			t.Fatal(err)
		}
		out[o.ID.String()] = true
	}
	return out
}

func TestConformanceDeleteList(t *testing.T) {
	for _, h := range hops {
		t.Run(h.name, func(t *testing.T) {
			input := append(markedOld(t, h), desiredState(t, h)...)
			out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, input, config(ModeDeleteList)))
			if !out.OK {
				t.Fatalf("failed: %v", out.Results)
			}
			got := ids(t, out.Items)
			for _, id := range h.mustGo {
				if !got[id] {
					t.Errorf("delete list lacks %s", id)
				}
			}
			for _, id := range h.mustStay {
				if got[id] {
					t.Errorf("delete list contains %s", id)
				}
			}
			desired := ids(t, desiredState(t, h))
			for i, n := range out.Items {
				o, _ := mesh.Identify(i, n)
				if mesh.IsCRD(o.ID) || o.ID.Kind == "Namespace" {
					t.Errorf("delete list contains %s", o.ID)
				}
				if desired[o.ID.String()] {
					t.Errorf("delete list contains %s, which the desired state has", o.ID)
				}
			}
			// Webhooks come first, ServiceAccounts last.
			if k := out.Items[0].GetKind(); !strings.HasSuffix(k, "WebhookConfiguration") {
				t.Errorf("first object to delete is a %s, want a webhook configuration", k)
			}
			if k := out.Items[len(out.Items)-1].GetKind(); k != "ServiceAccount" {
				t.Errorf("last object to delete is a %s, want a ServiceAccount", k)
			}
			// Every decision is reported with its object.
			decisions := 0
			for _, r := range out.Results {
				if r.ResourceRef != nil && (strings.HasPrefix(r.Message, "keep: ") || strings.HasPrefix(r.Message, "delete: ")) {
					decisions++
				}
			}
			if n := len(markedOld(t, h)); decisions != n {
				t.Errorf("%d decisions reported for %d old objects", decisions, n)
			}
			t.Logf("%s: %d of %d old objects deleted", h.name, len(out.Items), len(markedOld(t, h)))
		})
	}
}

func TestConformanceDesiredState(t *testing.T) {
	for _, h := range hops {
		t.Run(h.name, func(t *testing.T) {
			desired := desiredState(t, h)
			input := append(markedOld(t, h), desired...)
			out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, input, config(ModeDesiredState)))
			if !out.OK {
				t.Fatalf("failed: %v", out.Results)
			}
			got := ids(t, out.Items)
			for id := range ids(t, desired) {
				if !got[id] {
					t.Errorf("desired state lost %s", id)
				}
			}
			for _, id := range h.mustGo {
				if got[id] {
					t.Errorf("desired state still has %s", id)
				}
			}
			for _, id := range h.mustStay {
				if !got[id] {
					t.Errorf("desired state lacks %s", id)
				}
			}
			old := ids(t, markedOld(t, h))
			for i, n := range out.Items {
				a := n.GetAnnotations()
				o, _ := mesh.Identify(i, n)
				if _, ok := a[AnnotationState]; ok {
					t.Errorf("%s %s still marked old", n.GetKind(), n.GetName())
				}
				if old[o.ID.String()] && mesh.IsCRD(o.ID) && (a[AnnotationArgoCDSyncOptions] != ArgoCDPruneFalse || a[AnnotationFluxPrune] != FluxPruneDisabled) {
					t.Errorf("CRD %s is not prune-protected: %v", n.GetName(), a)
				}
			}
		})
	}
}

// TestConformanceCarriers runs the kustomize path on the seed renders: the
// old renders carried as the data of a running-render ConfigMap (what a
// configMapGenerator writes), plus the desired state; the delete list is the
// same as with the annotation.
func TestConformanceCarriers(t *testing.T) {
	h := hops[0]
	p := krm.Processor(Transform)
	carrier, err := mesh.NewCarrier("running-render", mesh.AnnotationRunningRender, krmtest.Render(t, h.old...))
	if err != nil {
		t.Fatal(err)
	}
	viaCarrier := krmtest.Run(t, p, krmtest.ResourceList(t, append([]*yaml.RNode{carrier.Node()}, desiredState(t, h)...), config(ModeDeleteList)))
	viaAnnotation := krmtest.Run(t, p, krmtest.ResourceList(t, append(markedOld(t, h), desiredState(t, h)...), config(ModeDeleteList)))
	if !viaCarrier.OK || !viaAnnotation.OK {
		t.Fatalf("failed: %v %v", viaCarrier.Results, viaAnnotation.Results)
	}
	if len(viaCarrier.Items) == 0 {
		t.Fatal("empty delete list through the carrier")
	}
	// The same objects in the same order, with the same content. Comments
	// may differ: a render's document head comment survives the carrier's
	// text but not the in-process parse of the annotation path.
	if len(viaCarrier.Items) != len(viaAnnotation.Items) {
		t.Fatalf("carrier deletes %d objects, annotation %d", len(viaCarrier.Items), len(viaAnnotation.Items))
	}
	for i := range viaCarrier.Items {
		a, b := viaCarrier.Items[i], viaAnnotation.Items[i]
		ma, errA := a.Map()
		mb, errB := b.Map()
		if errA != nil || errB != nil || !reflect.DeepEqual(ma, mb) {
			t.Errorf("delete list [%d]: carrier gives %s %s, annotation %s %s (or their content differs)", i, a.GetKind(), a.GetName(), b.GetKind(), b.GetName())
		}
	}
}

// TestConformanceNaiveSeed: the seed's users would have deleted the whole
// 1.5.10 render. Without the canary gateway in the desired state the prune
// refuses, naming the production Service.
func TestConformanceNoCanaryGateway(t *testing.T) {
	h := hops[0]
	input := append(markedOld(t, h), krmtest.Render(t, h.newCP)...)
	out := krmtest.Run(t, krm.Processor(Transform), krmtest.ResourceList(t, input, config(ModeDeleteList)))
	if out.OK {
		t.Fatal("prune succeeded although the production Service default/custom-gw would lose its gateway")
	}
	found := false
	for _, r := range out.Results {
		if r.Severity == fn.Error && strings.Contains(r.Message, "production Service Service/default/custom-gw would select no running gateway") {
			found = true
		}
	}
	if !found {
		t.Errorf("no error about Service default/custom-gw: %v", out.Results)
	}
}
