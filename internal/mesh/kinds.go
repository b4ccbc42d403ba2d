package mesh

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Service is a core/v1 Service.
type Service struct {
	*Object
	Type string
	// Selector is spec.selector; a Service without one selects no pods.
	Selector map[string]string
	Ports    []ServicePort
	// selPairs is Selector as labelPairs (sorted by key), read once.
	selPairs []labelPair
	// link is set on the model's copy (see selLink).
	link *selLink
}

// selLink is what the model a Service, PDB or Gateway resource belongs to
// (own) knows of its selector: the numbers of its namespace and equality
// pairs (Model.resolve), none when they match no workload of the model,
// and, for a PDB, its other requirements. It sits behind a pointer so that
// the facts kept for every item do not carry it.
type selLink struct {
	own  *Model
	ns   int32
	ids  []int32
	none bool
	rest *restSel
	// selected are the workloads a Service or PDB selects (selection.go).
	selected []*Workload
}

// ServicePort is one entry of spec.ports. TargetPort defaults to Port.
type ServicePort struct {
	Name       string
	Port       int64
	TargetPort IntOrString
	Protocol   string
}

func parseService(o *Object, y *yaml.Node) (*Service, error) {
	s := &Service{Object: o, Type: scalar(lookup(y, "spec", "type"))}
	var err error
	if s.Selector, err = stringMap(lookup(y, "spec", "selector"), "spec.selector"); err != nil {
		return nil, err
	}
	s.selPairs = sortedPairs(s.Selector)
	for i, p := range seq(lookup(y, "spec", "ports")) {
		field := fmt.Sprintf("spec.ports[%d]", i)
		port, err := intValue(lookup(p, "port"), field+".port")
		if err != nil {
			return nil, err
		}
		sp := ServicePort{Name: scalar(lookup(p, "name")), Port: port, Protocol: scalar(lookup(p, "protocol"))}
		tp, ok, err := parseIntOrString(lookup(p, "targetPort"), field+".targetPort")
		if err != nil {
			return nil, err
		}
		if !ok {
			tp = IntOrString{Num: port}
		}
		sp.TargetPort = tp
		s.Ports = append(s.Ports, sp)
	}
	return s, nil
}

// SelectorLabels returns the Service selector as a labels.Selector (nothing
// when the Service has no selector).
func (s *Service) SelectorLabels() labels.Selector {
	if len(s.Selector) == 0 {
		return labels.Nothing()
	}
	return labels.SelectorFromSet(s.Selector)
}

// Port returns the Service port with the given number.
func (s *Service) Port(port int64) (ServicePort, bool) {
	for _, p := range s.Ports {
		if p.Port == port {
			return p, true
		}
	}
	return ServicePort{}, false
}

// IstioGateway is a networking.istio.io Gateway resource.
type IstioGateway struct {
	*Object
	Selector map[string]string
	// Ports are the server port numbers.
	Ports []int64
	// link is set on the model's copy (see selLink; no namespace: a
	// Gateway's selector applies across namespaces).
	link *selLink
}

func parseIstioGateway(o *Object, y *yaml.Node) (*IstioGateway, error) {
	g := &IstioGateway{Object: o}
	var err error
	if g.Selector, err = stringMap(lookup(y, "spec", "selector"), "spec.selector"); err != nil {
		return nil, err
	}
	for i, s := range seq(lookup(y, "spec", "servers")) {
		if pn := lookup(s, "port", "number"); pn != nil {
			n, err := intValue(pn, fmt.Sprintf("spec.servers[%d].port.number", i))
			if err != nil {
				return nil, err
			}
			g.Ports = append(g.Ports, n)
		}
	}
	return g, nil
}

// Selects reports whether the Gateway resource's selector matches the
// workload's pod labels, the workload of any model. By default Istio
// applies a Gateway's selector to pods in every namespace
// (PILOT_SCOPE_GATEWAY_TO_NAMESPACE=false; pilot/pkg/model/push_context.go).
// An empty selector selects nothing useful and is treated as no match.
func (g *IstioGateway) Selects(w *Workload) bool {
	if len(g.Selector) == 0 {
		return false
	}
	// labels.SelectorFromSet(g.Selector).Matches(w.PodLabels), without
	// building a selector per call: a set selector matches labels that
	// carry every one of its pairs.
	for k, v := range g.Selector {
		if got, ok := w.PodLabels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Webhook is one entry of a Validating- or MutatingWebhookConfiguration.
type Webhook struct {
	Config *Object
	// Mutating is true for MutatingWebhookConfiguration entries.
	Mutating bool
	Name     string
	Index    int
	// Service is the called Service; nil when clientConfig.url is used.
	Service *ServiceRef
	URL     string
	// FailurePolicy is "Fail" when unset (the admissionregistration/v1
	// default).
	FailurePolicy     string
	NamespaceSelector labels.Selector
	ObjectSelector    labels.Selector
}

// ServiceRef names a Service from a webhook clientConfig.
type ServiceRef struct {
	Namespace string
	Name      string
	Port      int64
	Path      string
}

// ID returns the Service's identity.
func (r ServiceRef) ID() ID { return ID{Kind: "Service", Namespace: r.Namespace, Name: r.Name} }

func parseWebhooks(o *Object, y *yaml.Node) ([]*Webhook, error) {
	var out []*Webhook
	for i, h := range seq(lookup(y, "webhooks")) {
		field := fmt.Sprintf("webhooks[%d]", i)
		wh := &Webhook{Config: o, Mutating: o.ID.Kind == "MutatingWebhookConfiguration", Name: scalar(lookup(h, "name")), Index: i}
		wh.FailurePolicy = scalar(lookup(h, "failurePolicy"))
		if wh.FailurePolicy == "" {
			wh.FailurePolicy = "Fail"
		}
		cc := lookup(h, "clientConfig")
		if svc := lookup(cc, "service"); svc != nil {
			ref := &ServiceRef{Namespace: scalar(lookup(svc, "namespace")), Name: scalar(lookup(svc, "name")), Path: scalar(lookup(svc, "path")), Port: 443}
			if ref.Name == "" {
				return nil, fmt.Errorf("%s.clientConfig.service.name: missing", field)
			}
			if p := lookup(svc, "port"); p != nil {
				n, err := intValue(p, field+".clientConfig.service.port")
				if err != nil {
					return nil, err
				}
				ref.Port = n
			}
			wh.Service = ref
		}
		wh.URL = scalar(lookup(cc, "url"))
		var err error
		wh.NamespaceSelector, err = parseOptionalSelector(lookup(h, "namespaceSelector"), field+".namespaceSelector")
		if err != nil {
			return nil, err
		}
		wh.ObjectSelector, err = parseOptionalSelector(lookup(h, "objectSelector"), field+".objectSelector")
		if err != nil {
			return nil, err
		}
		out = append(out, wh)
	}
	return out, nil
}

// parseOptionalSelector treats an absent selector as "everything", as the
// admission API does for webhook namespace and object selectors.
func parseOptionalSelector(n *yaml.Node, field string) (labels.Selector, error) {
	if n == nil {
		return labels.Everything(), nil
	}
	return parseLabelSelector(n, field)
}

// PDB is a PodDisruptionBudget.
type PDB struct {
	*Object
	Selector labels.Selector
	// indexPairs are Selector's equality pairs, for the label index;
	// exact when they are the whole selector; selectable is false for a
	// selector that selects nothing.
	indexPairs []labelPair
	exact      bool
	selectable bool
	// link is set on the model's copy (see selLink).
	link *selLink
}

// restSel is the part of a selector beyond its equality pairs, in the
// numbers of one model: a pod matches when it carries none of notAny and
// one of each anyOf (NotIn, !=, and In with several values). byLabels is
// true when a requirement has no such form (Exists, DoesNotExist, Gt, Lt):
// the selector is then also matched on the pod's labels.
type restSel struct {
	notAny   []int32
	anyOf    [][]int32
	byLabels bool
}

// matches reports whether the workload (of the model that numbered r)
// satisfies the requirements; sel is the whole selector, matched on the
// pod's labels when a requirement has no numbered form.
func (r *restSel) matches(w *Workload, sel labels.Selector) bool {
	if r == nil {
		return false
	}
	pairs := w.link.pairs
	for _, p := range r.notAny {
		if _, found := slices.BinarySearch(pairs, p); found {
			return false
		}
	}
	for _, alts := range r.anyOf {
		ok := false
		for _, p := range alts {
			if _, found := slices.BinarySearch(pairs, p); found {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return !r.byLabels || sel.Matches(labels.Set(w.PodLabels))
}

// HPA is a HorizontalPodAutoscaler.
type HPA struct {
	*Object
	TargetKind  string
	TargetName  string
	MinReplicas int64
	MaxReplicas int64
}

func parseHPA(o *Object, y *yaml.Node) (*HPA, error) {
	h := &HPA{Object: o, TargetKind: scalar(lookup(y, "spec", "scaleTargetRef", "kind")), TargetName: scalar(lookup(y, "spec", "scaleTargetRef", "name"))}
	if h.TargetName == "" {
		return nil, fmt.Errorf("spec.scaleTargetRef.name: missing")
	}
	minR, err := optInt(lookup(y, "spec", "minReplicas"), "spec.minReplicas")
	if err != nil {
		return nil, err
	}
	h.MinReplicas = 1 // API default
	if minR != nil {
		h.MinReplicas = *minR
	}
	if h.MaxReplicas, err = intValue(lookup(y, "spec", "maxReplicas"), "spec.maxReplicas"); err != nil {
		return nil, err
	}
	return h, nil
}

// Binding is a RoleBinding or ClusterRoleBinding.
type Binding struct {
	*Object
	RoleRef  ID
	Subjects []Subject
}

// Subject is a binding subject.
type Subject struct {
	Kind      string
	Namespace string
	Name      string
}

func parseBinding(o *Object, y *yaml.Node) (*Binding, error) {
	kind := scalar(lookup(y, "roleRef", "kind"))
	name := scalar(lookup(y, "roleRef", "name"))
	if kind == "" || name == "" {
		return nil, fmt.Errorf("roleRef: kind and name are required")
	}
	b := &Binding{Object: o, RoleRef: ID{Group: "rbac.authorization.k8s.io", Kind: kind, Name: name}}
	if kind == "Role" {
		b.RoleRef.Namespace = o.ID.Namespace
	}
	for _, s := range seq(lookup(y, "subjects")) {
		sub := Subject{Kind: scalar(lookup(s, "kind")), Namespace: scalar(lookup(s, "namespace")), Name: scalar(lookup(s, "name"))}
		if sub.Kind == "ServiceAccount" && sub.Namespace == "" {
			sub.Namespace = o.ID.Namespace
		}
		b.Subjects = append(b.Subjects, sub)
	}
	return b, nil
}

// Namespace is a core/v1 Namespace and its labels.
type Namespace struct {
	*Object
	Labels map[string]string
}
