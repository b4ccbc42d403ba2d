package prunelegacy

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/krmtest"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// genInput is a generated input and what the generator knows about it,
// computed independently of internal/mesh: the identities of the desired
// state, every reference a desired object makes, and the pod labels of every
// gateway.
type genInput struct {
	items    []*yaml.RNode
	desired  map[string]bool // "Kind/ns/name" (group-free: the pools never share a kind across groups)
	refsTo   map[string]string
	gateways []genPods // gateway pods, old and desired
}

type genPods struct {
	ns     string
	labels map[string]string
}

var (
	genNS    = []string{"default", "istio-system", "shop"}
	genNames = []string{"x", "y", "z"}
	genSel   = []map[string]string{{"istio": "gw1"}, {"istio": "gw2"}, {"app": "web"}, {"app": "web", "istio": "gw1"}}
)

func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

func labelsYAML(m map[string]string) string {
	var parts []string
	for _, k := range []string{"app", "istio"} {
		if v, ok := m[k]; ok {
			parts = append(parts, k+": "+v)
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// generate builds one random input: each object is old (marked, or carried
// in a running-render ConfigMap at a random position) or desired; names come
// from small pools so that the two states collide often.
func generate(r *rand.Rand) genInput {
	g := genInput{desired: map[string]bool{}, refsTo: map[string]string{}}
	seen := map[string]bool{}
	var carried []*yaml.RNode // old objects for the running-render carrier
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	n := 4 + r.Intn(30)
	for i := 0; i < n; i++ {
		old := r.Intn(5) < 3
		ns, name := pick(genNS), pick(genNames)
		o := genObject(r, ns, name)
		kind, ns, name, body, refs, gwPods := o.kind, o.ns, o.name, o.body, o.refs, o.gwPods
		k := key(kind, ns, name)
		side := fmt.Sprintf("%v/%s", old, k)
		if seen[side] {
			continue
		}
		seen[side] = true
		if gwPods != nil {
			g.gateways = append(g.gateways, *gwPods)
		}
		node := yaml.MustParse(body)
		if ns == "" {
			_ = node.SetNamespace("")
		}
		if old {
			if r.Intn(2) == 1 {
				carried = append(carried, node)
				continue
			}
			_ = node.PipeE(yaml.SetAnnotation(AnnotationState, StateOld))
		} else {
			g.desired[k] = true
			for _, t := range refs {
				g.refsTo[t] = k
			}
		}
		g.items = append(g.items, node)
	}
	if len(carried) > 0 {
		c, err := mesh.NewCarrier("running-render", mesh.AnnotationRunningRender, carried)
		if err != nil {
			panic(err)
		}
		at := r.Intn(len(g.items) + 1)
		g.items = append(g.items[:at], append([]*yaml.RNode{c.Node()}, g.items[at:]...)...)
	}
	return g
}

// genObject builds one random object of a random kind in namespace ns
// (cluster-scoped kinds clear it): its identity, YAML, the references it
// makes, and its pods when it is a gateway.
func genObject(r *rand.Rand, ns, name string) genObj {
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	var kind, body string
	var refs []string
	var gwPods *genPods
	switch r.Intn(15) {
	case 0, 1:
		return genDeployment(r, ns, name)
	case 2, 3:
		kind = "Service"
		body = fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\nspec:\n  selector: %s\n  ports: [{port: 80}]\n", name, ns, labelsYAML(genSel[r.Intn(len(genSel))]))
	case 4:
		kind = "ServiceAccount"
		body = fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: %s}\n", name, ns)
	case 5:
		kind = pick([]string{"ConfigMap", "Secret"})
		body = fmt.Sprintf("apiVersion: v1\nkind: %s\nmetadata: {name: %s, namespace: %s}\n", kind, name, ns)
	case 6:
		kind = pick([]string{"Role", "ClusterRole"})
		if kind == "ClusterRole" {
			ns = ""
		}
		body = fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata: {name: %s, namespace: %q}\nrules: []\n", kind, name, ns)
	case 7:
		kind = pick([]string{"RoleBinding", "ClusterRoleBinding"})
		role, roleNS, sa, saNS := pick(genNames), ns, pick(genNames), pick(genNS)
		roleKind := "Role"
		if kind == "ClusterRoleBinding" || r.Intn(2) == 0 {
			roleKind, roleNS = "ClusterRole", ""
		}
		if kind == "ClusterRoleBinding" {
			ns = ""
		}
		refs = append(refs, key(roleKind, roleNS, role), key("ServiceAccount", saNS, sa))
		body = fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: %s\nmetadata: {name: %s, namespace: %q}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: %s, name: %s}\nsubjects:\n- {kind: ServiceAccount, name: %s, namespace: %s}\n", kind, name, ns, roleKind, role, sa, saNS)
	case 8:
		kind, ns = "CustomResourceDefinition", ""
		body = fmt.Sprintf("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: %s}\n", name)
	case 9:
		kind, ns = "Namespace", ""
		name = pick(genNS)
		lbl := pick([]string{"{}", "{istio-injection: enabled}", "{istio.io/rev: canary}", "{istio-injection: disabled}"})
		body = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: %s}\n", name, lbl)
	case 10:
		kind, ns = pick([]string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}), ""
		svc, svcNS := pick(genNames), pick(genNS)
		refs = append(refs, key("Service", svcNS, svc))
		sel := pick([]string{"{matchLabels: {istio-injection: enabled}}", "{matchLabels: {istio.io/rev: canary}}", "{}"})
		body = fmt.Sprintf("apiVersion: admissionregistration.k8s.io/v1\nkind: %s\nmetadata: {name: %s}\nwebhooks:\n- name: sidecar-injector.istio.io\n  clientConfig: {service: {name: %s, namespace: %s, path: /inject}}\n  namespaceSelector: %s\n", kind, name, svc, svcNS, sel)
	case 11:
		kind = "Gateway"
		body = fmt.Sprintf("apiVersion: networking.istio.io/v1alpha3\nkind: Gateway\nmetadata: {name: %s, namespace: %s}\nspec:\n  selector: %s\n", name, ns, labelsYAML(genSel[r.Intn(len(genSel))]))
	case 12:
		kind = "VirtualService"
		gw, gwNS := pick(genNames), pick(genNS)
		refs = append(refs, key("Gateway", gwNS, gw))
		body = fmt.Sprintf("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: %s, namespace: %s}\nspec:\n  gateways: [%s/%s]\n", name, ns, gwNS, gw)
	case 13:
		kind = "HorizontalPodAutoscaler"
		target := pick(genNames)
		refs = append(refs, key("Deployment", ns, target))
		body = fmt.Sprintf("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: %s, namespace: %s}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n  minReplicas: %d\n  maxReplicas: 5\n", name, ns, target, r.Intn(3))
	default:
		kind = "Widget"
		body = fmt.Sprintf("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s, namespace: %s}\n", name, ns)
	}
	return genObj{kind, ns, name, body, refs, gwPods}
}

// genDeployment builds a Deployment that uses a ServiceAccount, a ConfigMap
// and a Secret, and is a gateway half of the time.
func genDeployment(r *rand.Rand, ns, name string) genObj {
	pick := func(l []string) string { return l[r.Intn(len(l))] }
	gw := r.Intn(2) == 0
	sel := genSel[r.Intn(len(genSel))]
	sa, cm, sec := pick(genNames), pick(genNames), pick(genNames)
	refs := []string{key("ServiceAccount", ns, sa), key("ConfigMap", ns, cm), key("Secret", ns, sec)}
	args := "[serve]"
	if gw {
		args = "[proxy, router]"
	}
	replicas := r.Intn(3)
	body := fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: %s}\nspec:\n  replicas: %d\n  selector: {matchLabels: %s}\n  template:\n    metadata: {labels: %s}\n    spec:\n      serviceAccountName: %s\n      containers:\n      - {name: c, image: i, args: %s}\n      volumes:\n      - {name: v1, configMap: {name: %s}}\n      - {name: v2, secret: {secretName: %s}}\n",
		name, ns, replicas, labelsYAML(sel), labelsYAML(sel), sa, args, cm, sec)
	var gwPods *genPods
	if gw {
		// Either state's gateway makes a Service production.
		gwPods = &genPods{ns, sel}
	}
	return genObj{"Deployment", ns, name, body, refs, gwPods}
}

// genObj is one generated object.
type genObj struct {
	kind, ns, name, body string
	refs                 []string
	gwPods               *genPods
}

func selects(sel, pod map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if pod[k] != v {
			return false
		}
	}
	return true
}

// TestPropertyNeverDeletes: for any generated input, the delete list holds no
// CRD, no Namespace, no production Service, nothing present in the desired
// state and nothing the desired state references; the desired-state output
// holds the whole desired state. Failures must carry an error result, and
// every run is deterministic and idempotent.
func TestPropertyNeverDeletes(t *testing.T) {
	p := krm.Processor(Transform)
	iterations := 400
	if testing.Short() {
		iterations = 50
	}
	succeeded, deleted := 0, 0
	for i := 0; i < iterations; i++ {
		g := generate(rand.New(rand.NewSource(int64(i))))
		in := krmtest.ResourceList(t, g.items, config(ModeDeleteList))
		krmtest.FuzzProperties(t, p, in)
		out := krmtest.Run(t, p, in)
		if !out.OK {
			hasErr := false
			for _, r := range out.Results {
				hasErr = hasErr || r.Severity == fn.Error
			}
			if !hasErr {
				t.Fatalf("seed %d: failed without an error result", i)
			}
			continue
		}
		succeeded++
		for _, n := range out.Items {
			kind, ns, name := n.GetKind(), n.GetNamespace(), n.GetName()
			k := key(kind, ns, name)
			deleted++
			switch {
			case kind == "CustomResourceDefinition" || kind == "Namespace":
				t.Errorf("seed %d: deletes %s", i, k)
			case g.desired[k]:
				t.Errorf("seed %d: deletes %s, which the desired state has", i, k)
			case g.refsTo[k] != "":
				t.Errorf("seed %d: deletes %s, which desired %s references", i, k, g.refsTo[k])
			case kind == "Widget":
				t.Errorf("seed %d: deletes %s of an unknown kind", i, k)
			}
			if kind == "Service" {
				sel := map[string]string{}
				m, _ := n.Field("spec").Value.Field("selector").Value.Map()
				for k, v := range m {
					sel[k] = fmt.Sprint(v)
				}
				for _, gw := range g.gateways {
					if gw.ns == ns && selects(sel, gw.labels) {
						t.Errorf("seed %d: deletes production Service %s (selects gateway pods %v)", i, k, gw.labels)
					}
				}
			}
		}
		ds := krmtest.Run(t, p, krmtest.ResourceList(t, g.items, config(ModeDesiredState)))
		if !ds.OK {
			t.Fatalf("seed %d: delete-list succeeded but desired-state failed: %v", i, ds.Results)
		}
		have := map[string]bool{}
		for _, n := range ds.Items {
			have[key(n.GetKind(), n.GetNamespace(), n.GetName())] = true
		}
		for k := range g.desired {
			if !have[k] {
				t.Errorf("seed %d: desired-state output lost %s", i, k)
			}
		}
		for _, n := range out.Items {
			if k := key(n.GetKind(), n.GetNamespace(), n.GetName()); have[k] {
				t.Errorf("seed %d: %s is both deleted and in the desired-state output", i, k)
			}
		}
	}
	if succeeded < iterations/4 || deleted == 0 {
		t.Fatalf("generator too weak: %d of %d inputs succeeded, %d deletions in all", succeeded, iterations, deleted)
	}
	t.Logf("%d of %d generated inputs pruned, %d objects deleted in all", succeeded, iterations, deleted)
}
