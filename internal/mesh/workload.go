package mesh

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Workload is an object with a pod template: Deployment, StatefulSet,
// DaemonSet (ReplicaSet and Job templates are not run by istioctl renders and
// are treated as opaque objects).
type Workload struct {
	*Object
	// Selector is spec.selector, parsed.
	Selector labels.Selector
	// PodLabels and PodAnnotations are the pod template's metadata.
	PodLabels      map[string]string
	PodAnnotations map[string]string
	// Replicas is spec.replicas; nil means the API default (1) or, for a
	// DaemonSet, one per node.
	Replicas       *int64
	Containers     []Container
	ServiceAccount string
	// Volumes maps a volume name to what it mounts.
	Volumes []Volume
	// RunsAsRoot is true unless the pod or the proxy container sets
	// runAsNonRoot: true or a non-zero runAsUser.
	RunsAsRoot bool
	// TerminationGracePeriodSeconds is nil when unset (API default 30 s).
	TerminationGracePeriodSeconds *int64
	// HostNetwork is spec.template.spec.hostNetwork (such pods are never
	// injected, see NotInjected).
	HostNetwork bool

	// selText is Selector.String(), and ports the containers' ports in
	// order, written once when the facts are read.
	selText string
	ports   []ContainerPort

	// link is set on the model's copy of the workload (see workloadLink);
	// nil in the facts read from an item, which every model shares.
	link *workloadLink
}

// workloadLink is what the model a workload belongs to (own) knows of it:
// its namespace and pod label pair numbers (sorted), its HPA, its role, and
// what selects it. It sits behind a pointer so that the facts kept for every item do
// not carry it.
type workloadLink struct {
	own    *Model
	ns     int32
	pairs  []int32
	hpa    *HPA
	gw     *Gateway
	istiod *Istiod
	// The Services, PDBs and Gateway resources that select the workload
	// (selection.go).
	services []*Service
	pdbs     []*PDB
	igws     []*IstioGateway
}

// of returns the workload's link when it belongs to m, else nil.
func (w *Workload) of(m *Model) *workloadLink {
	if w == nil || w.link == nil || w.link.own != m {
		return nil
	}
	return w.link
}

// Container is one container of a pod template.
type Container struct {
	Name  string
	Image string
	Args  []string
	Env   map[string]string
	Ports []ContainerPort
	// Index is the container's position in spec.template.spec.containers.
	Index int
}

// ContainerPort is a declared containerPort.
type ContainerPort struct {
	Name     string
	Port     int64
	Protocol string
}

// Volume is a pod volume and the ConfigMap or Secret it mounts, if any.
type Volume struct {
	Name      string
	ConfigMap string
	Secret    string
	Optional  bool
}

// DesiredReplicas returns the replicas a Deployment asks for (1 when unset).
func (w *Workload) DesiredReplicas() int64 {
	if w.Replicas == nil {
		return 1
	}
	return *w.Replicas
}

// Container returns the named container, or nil.
func (w *Workload) Container(name string) *Container {
	for i := range w.Containers {
		if w.Containers[i].Name == name {
			return &w.Containers[i]
		}
	}
	return nil
}

// ServesPort reports whether the workload's pods serve the given
// targetPort, and its number: a named one must name a containerPort (it
// resolves per pod); a numeric one must be a containerPort, except on an
// injected gateway, whose listeners come from the injection template and the
// Istio Gateway resources, not from declared ports (upgrade-model.md,
// invariant 2; Kubernetes routes to any numeric targetPort).
func (w *Workload) ServesPort(target IntOrString) (int64, bool) {
	if !target.IsName && w.injectedGateway() {
		return target.Num, true
	}
	// One list read in order, not a slice per container: the verifier
	// asks this of every gateway behind a production Service in every
	// state.
	ports := w.ports
	if ports == nil {
		for _, c := range w.Containers { // a Workload made up by a caller
			ports = append(ports, c.Ports...)
		}
	}
	for _, p := range ports {
		if target.IsName && p.Name == target.Name {
			return p.Port, true
		}
		if !target.IsName && p.Port == target.Num {
			return p.Port, true
		}
	}
	return 0, false
}

// injectedGateway reports whether the workload is an injected gateway (see
// asGateway).
func (w *Workload) injectedGateway() bool {
	for i := range w.Containers {
		if injectedGatewayProxy(w, &w.Containers[i]) {
			return true
		}
	}
	return false
}

// SelectorText is w.Selector.String(): how the verifier tells a changed
// spec.selector between two states (RS011), written when the object is
// read.
func (w *Workload) SelectorText() string {
	if w.selText == "" && w.Selector != nil {
		return w.Selector.String() // a Workload made up by a caller
	}
	return w.selText
}

// ConfigMapVolume returns the ConfigMap mounted by the named volume.
func (w *Workload) ConfigMapVolume(volume string) (Volume, bool) {
	for _, v := range w.Volumes {
		if v.Name == volume && v.ConfigMap != "" {
			return v, true
		}
	}
	return Volume{}, false
}

// isWorkloadKind reports whether id is a Deployment, StatefulSet or
// DaemonSet of apps or of the legacy extensions group.
func isWorkloadKind(id ID) bool {
	switch id.Kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return id.Group == "apps" || id.Group == "extensions"
	}
	return false
}

func parseWorkload(o *Object, y *yaml.Node) (*Workload, error) {
	w := &Workload{Object: o}
	var err error
	if w.Selector, err = parseLabelSelector(lookup(y, "spec", "selector"), "spec.selector"); err != nil {
		return nil, err
	}
	w.selText = w.Selector.String()
	if w.PodLabels, err = stringMap(lookup(y, "spec", "template", "metadata", "labels"), "spec.template.metadata.labels"); err != nil {
		return nil, err
	}
	if w.PodAnnotations, err = stringMap(lookup(y, "spec", "template", "metadata", "annotations"), "spec.template.metadata.annotations"); err != nil {
		return nil, err
	}
	if w.Replicas, err = optInt(lookup(y, "spec", "replicas"), "spec.replicas"); err != nil {
		return nil, err
	}
	if w.TerminationGracePeriodSeconds, err = optInt(lookup(y, "spec", "template", "spec", "terminationGracePeriodSeconds"), "spec.template.spec.terminationGracePeriodSeconds"); err != nil {
		return nil, err
	}
	podSpec := lookup(y, "spec", "template", "spec")
	w.ServiceAccount = scalar(lookup(podSpec, "serviceAccountName"))
	w.HostNetwork = scalar(lookup(podSpec, "hostNetwork")) == "true"
	if w.ServiceAccount == "" {
		w.ServiceAccount = scalar(lookup(podSpec, "serviceAccount"))
	}
	root := !nonRoot(lookup(podSpec, "securityContext"))
	for i, c := range seq(lookup(podSpec, "containers")) {
		field := fmt.Sprintf("spec.template.spec.containers[%d]", i)
		ct := Container{Name: scalar(lookup(c, "name")), Image: scalar(lookup(c, "image")), Index: i, Env: map[string]string{}}
		for _, a := range seq(lookup(c, "args")) {
			ct.Args = append(ct.Args, a.Value)
		}
		for _, e := range seq(lookup(c, "env")) {
			if v := lookup(e, "value"); v != nil {
				ct.Env[scalar(lookup(e, "name"))] = v.Value
			}
		}
		for j, p := range seq(lookup(c, "ports")) {
			n, err := intValue(lookup(p, "containerPort"), fmt.Sprintf("%s.ports[%d].containerPort", field, j))
			if err != nil {
				return nil, err
			}
			ct.Ports = append(ct.Ports, ContainerPort{Name: scalar(lookup(p, "name")), Port: n, Protocol: scalar(lookup(p, "protocol"))})
		}
		if ct.Name == "istio-proxy" && nonRoot(lookup(c, "securityContext")) {
			root = false
		}
		w.Containers = append(w.Containers, ct)
	}
	// ports holds every container's ports in order, and each container's
	// Ports is its part of that one array: the list costs no copy.
	n := 0
	for _, c := range w.Containers {
		n += len(c.Ports)
	}
	if n > 0 {
		w.ports = make([]ContainerPort, 0, n)
		for i := range w.Containers {
			start := len(w.ports)
			w.ports = append(w.ports, w.Containers[i].Ports...)
			w.Containers[i].Ports = w.ports[start:len(w.ports):len(w.ports)]
		}
	}
	w.RunsAsRoot = root
	for _, v := range seq(lookup(podSpec, "volumes")) {
		vol := Volume{Name: scalar(lookup(v, "name"))}
		if cm := lookup(v, "configMap"); cm != nil {
			vol.ConfigMap = scalar(lookup(cm, "name"))
			vol.Optional = scalar(lookup(cm, "optional")) == "true"
		}
		if s := lookup(v, "secret"); s != nil {
			vol.Secret = scalar(lookup(s, "secretName"))
			vol.Optional = scalar(lookup(s, "optional")) == "true"
		}
		w.Volumes = append(w.Volumes, vol)
	}
	return w, nil
}

// nonRoot reports whether a securityContext forbids root.
func nonRoot(sc *yaml.Node) bool {
	if sc == nil {
		return false
	}
	if scalar(lookup(sc, "runAsNonRoot")) == "true" {
		return true
	}
	if u := scalar(lookup(sc, "runAsUser")); u != "" && u != "0" {
		return true
	}
	return false
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func optInt(n *yaml.Node, field string) (*int64, error) {
	if absent(n) {
		return nil, nil
	}
	v, err := intValue(n, field)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func intValue(n *yaml.Node, field string) (int64, error) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("%s: expected an integer", field)
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: expected an integer, got %q", field, n.Value)
	}
	return v, nil
}

// IntOrString is a port reference: a number or a port name.
type IntOrString struct {
	Num    int64
	Name   string
	IsName bool
}

func (p IntOrString) String() string {
	if p.IsName {
		return p.Name
	}
	return strconv.FormatInt(p.Num, 10)
}

func parseIntOrString(n *yaml.Node, field string) (IntOrString, bool, error) {
	if n == nil {
		return IntOrString{}, false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return IntOrString{}, false, fmt.Errorf("%s: expected a port number or name", field)
	}
	if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
		return IntOrString{Num: v}, true, nil
	}
	if n.Value == "" {
		return IntOrString{}, false, fmt.Errorf("%s: empty", field)
	}
	return IntOrString{Name: n.Value, IsName: true}, true, nil
}

// parseLabelSelector turns a metav1.LabelSelector node into a
// labels.Selector with apimachinery's semantics: an absent selector selects
// nothing, an empty one selects everything.
func parseLabelSelector(n *yaml.Node, field string) (labels.Selector, error) {
	if absent(n) {
		return labels.Nothing(), nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: expected a label selector", field)
	}
	ls := &metav1.LabelSelector{}
	var err error
	if ls.MatchLabels, err = stringMap(lookup(n, "matchLabels"), field+".matchLabels"); err != nil {
		return nil, err
	}
	for i, e := range seq(lookup(n, "matchExpressions")) {
		req := metav1.LabelSelectorRequirement{
			Key:      scalar(lookup(e, "key")),
			Operator: metav1.LabelSelectorOperator(scalar(lookup(e, "operator"))),
		}
		for _, v := range seq(lookup(e, "values")) {
			req.Values = append(req.Values, v.Value)
		}
		if req.Key == "" {
			return nil, fmt.Errorf("%s.matchExpressions[%d].key: missing", field, i)
		}
		ls.MatchExpressions = append(ls.MatchExpressions, req)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	return sel, nil
}

// hostService splits an address such as "istiod-1-6-14.istio-system.svc:15012"
// into the Service's namespace and name. ok is false for addresses that do
// not name a cluster Service.
func hostService(addr, defaultNS string) (ns, name string, ok bool) {
	host := addr
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	parts := strings.Split(host, ".")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return defaultNS, parts[0], true
	case len(parts) >= 2 && (len(parts) == 2 || parts[2] == "svc"):
		return parts[1], parts[0], true
	}
	return "", "", false
}
