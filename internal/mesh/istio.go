package mesh

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// DefaultRevision is the name Istio gives the control plane installed
// without --revision.
const DefaultRevision = "default"

// LabelRev is the revision label on istiods, gateways and namespaces.
const LabelRev = "istio.io/rev"

// dnsLabel is RFC 1123's label: what a revision must be, since it becomes
// part of object names (istiod-<rev>) and label values.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidRevision checks that rev can name an Istio revision.
func ValidRevision(rev string) error {
	if len(rev) > 63 || !dnsLabel.MatchString(rev) {
		hint := ""
		if strings.Contains(rev, ".") {
			hint = fmt.Sprintf(" (istioctl uses %q for version %s)", strings.ReplaceAll(rev, ".", "-"), rev)
		}
		return fmt.Errorf("revision %q is not a DNS label: lower-case letters, digits and '-', at most 63 characters%s", rev, hint)
	}
	return nil
}

// Istiod is a control-plane Deployment of one revision.
type Istiod struct {
	*Workload
	Revision string
}

// Gateway is a Deployment that runs the Istio proxy as a gateway.
type Gateway struct {
	*Workload
	// Proxy is the proxy container (istio-proxy).
	Proxy *Container
	// Injected is true for gateways whose proxy is injected from the
	// `gateway` template (1.10+: image "auto").
	Injected bool
	// ConfigMap is the ConfigMap mounted as config-volume ("" when none).
	ConfigMap string
	// CAAddr and DiscoveryAddress are the control-plane addresses the
	// proxy dials ("" when unset).
	CAAddr           string
	DiscoveryAddress string
	// ServiceCluster is the --serviceCluster argument (1.5/1.6 era).
	ServiceCluster string
	// caSvc and discSvc are the Services CAAddr and DiscoveryAddress name
	// (AddressService), read once when the model is built.
	caSvc, discSvc     ID
	caIsSvc, discIsSvc bool
	// Linked by the model the gateway belongs to (see linkGateways): the
	// Services named by caSvc and discSvc (nil when absent), and whether
	// ConfigMap is absent from the gateway's namespace.
	caService, discService *Service
	cmMissing              bool
}

// CAService is AddressService(g.CAAddr, g.ID.Namespace): the Service the
// proxy's CA_ADDR dials, and whether it names one.
func (g *Gateway) CAService() (ID, bool) { return g.caSvc, g.caIsSvc }

// DiscoveryService is AddressService(g.DiscoveryAddress, g.ID.Namespace).
func (g *Gateway) DiscoveryService() (ID, bool) { return g.discSvc, g.discIsSvc }

// IsIstiod reports whether a workload is an istiod (pilot-discovery)
// Deployment: a container named "discovery" whose first argument is
// "discovery", as every istiod chart since 1.5 renders it.
func IsIstiod(w *Workload) bool {
	for _, c := range w.Containers {
		if c.Name == "discovery" && len(c.Args) > 0 && c.Args[0] == "discovery" {
			return true
		}
	}
	return false
}

// revisionOfIstiod reads the revision: the REVISION env of pilot-discovery,
// then the istio.io/rev pod label, then the name suffix istiod-<rev>.
func revisionOfIstiod(w *Workload) string {
	if c := w.Container("discovery"); c != nil {
		if r := c.Env["REVISION"]; r != "" {
			return r
		}
	}
	if r := w.PodLabels[LabelRev]; r != "" {
		return r
	}
	if r, ok := strings.CutPrefix(w.ID.Name, "istiod-"); ok && r != "" {
		return r
	}
	return DefaultRevision
}

// asGateway recognises the Istio proxy running as a gateway: the legacy and
// istioctl-rendered form (`pilot-agent proxy router`, the gateway charts of
// 1.5 to today), or an injected gateway (annotation
// inject.istio.io/templates=gateway, image "auto"; Istio 1.10+).
func asGateway(w *Workload) *Gateway {
	g := &Gateway{Workload: w}
	for i := range w.Containers {
		c := &w.Containers[i]
		if len(c.Args) >= 2 && c.Args[0] == "proxy" && c.Args[1] == "router" {
			g.Proxy = c
			break
		}
		if injectedGatewayProxy(w, c) {
			g.Proxy = c
			g.Injected = true
			break
		}
	}
	if g.Proxy == nil {
		return nil
	}
	if v, ok := w.ConfigMapVolume("config-volume"); ok {
		g.ConfigMap = v.ConfigMap
	}
	g.CAAddr = g.Proxy.Env["CA_ADDR"]
	for i, a := range g.Proxy.Args {
		if i+1 < len(g.Proxy.Args) {
			switch a {
			case "--discoveryAddress":
				g.DiscoveryAddress = g.Proxy.Args[i+1]
			case "--serviceCluster":
				g.ServiceCluster = g.Proxy.Args[i+1]
			}
		}
		if v, ok := strings.CutPrefix(a, "--discoveryAddress="); ok {
			g.DiscoveryAddress = v
		}
		if v, ok := strings.CutPrefix(a, "--serviceCluster="); ok {
			g.ServiceCluster = v
		}
	}
	if g.CAAddr != "" {
		g.caSvc, g.caIsSvc = AddressService(g.CAAddr, w.ID.Namespace)
	}
	if g.DiscoveryAddress != "" {
		g.discSvc, g.discIsSvc = AddressService(g.DiscoveryAddress, w.ID.Namespace)
	}
	return g
}

// injectedGatewayProxy reports whether c is the placeholder of a proxy the
// injector fills in from its gateway template (the gateway chart:
// image "auto", inject.istio.io/templates=gateway).
func injectedGatewayProxy(w *Workload, c *Container) bool {
	return c.Name == "istio-proxy" && (c.Image == "auto" || strings.Contains(w.PodAnnotations["inject.istio.io/templates"], "gateway"))
}

// RevisionOfConfigMap maps a mesh ConfigMap name to its revision: "istio" is
// the default revision, "istio-<rev>" revision rev.
func RevisionOfConfigMap(name string) (string, bool) {
	if name == "istio" {
		return DefaultRevision, true
	}
	if r, ok := strings.CutPrefix(name, "istio-"); ok && r != "" {
		return r, true
	}
	return "", false
}

// MeshConfigMapName is the mesh ConfigMap of a revision.
func MeshConfigMapName(rev string) string {
	if rev == DefaultRevision || rev == "" {
		return "istio"
	}
	return "istio-" + rev
}

// IstiodServiceName is the Service istioctl renders for a revision's istiod.
func IstiodServiceName(rev string) string {
	if rev == DefaultRevision || rev == "" {
		return "istiod"
	}
	return "istiod-" + rev
}

func (m *Model) classify(rec *records) {
	for _, w := range m.Workloads {
		if w.ID.Kind != "Deployment" {
			continue
		}
		if IsIstiod(w) {
			i := rec.istiods.add(Istiod{Workload: w, Revision: revisionOfIstiod(w)})
			m.Istiods = append(m.Istiods, i)
			w.link.istiod = i
			continue
		}
		if g := asGateway(w); g != nil {
			g = rec.gateways.add(*g)
			m.Gateways = append(m.Gateways, g)
			w.link.gw = g
		}
	}
}

// Revisions returns the revisions whose istiod is in the input, sorted.
func (m *Model) Revisions() []string {
	seen := map[string]bool{}
	var out []string
	for _, i := range m.Istiods {
		if !seen[i.Revision] {
			seen[i.Revision] = true
			out = append(out, i.Revision)
		}
	}
	sort.Strings(out)
	return out
}

// IstiodsOf returns the istiod Deployments of a revision.
func (m *Model) IstiodsOf(rev string) []*Istiod {
	var out []*Istiod
	for _, i := range m.Istiods {
		if i.Revision == rev {
			out = append(out, i)
		}
	}
	return out
}

// ServiceRevision resolves a Service to the revision of the istiods it
// selects. When the Service is not in the input its name decides (istiod,
// istio-pilot: default; istiod-<rev>: rev). ok is false when neither tells.
func (m *Model) ServiceRevision(ns, name string) (rev string, ok bool) {
	return m.serviceRevision(m.Service(ns, name), name)
}

// serviceRevision is ServiceRevision of the Service s of this model (nil:
// absent) named name.
func (m *Model) serviceRevision(s *Service, name string) (rev string, ok bool) {
	if s != nil {
		for _, w := range s.Selected() {
			if i := w.Istiod(); i != nil {
				return i.Revision, true
			}
		}
		if len(m.Istiods) > 0 {
			// Present but selecting no istiod of the input.
			return "", false
		}
	}
	switch {
	case name == "istiod" || name == "istio-pilot":
		return DefaultRevision, true
	case strings.HasPrefix(name, "istiod-"):
		return strings.TrimPrefix(name, "istiod-"), true
	}
	return "", false
}

// GatewayRevision is the revision a gateway runs, and how it was read. An
// injected gateway's is the revision of the injector webhook that injects
// its pods (InjectorOf: a revision tag resolves to the istiod its webhook
// calls), else what its pods ask for (RequestedRevision). A rendered
// gateway's is read, in order, from its config-volume ConfigMap
// (istio-<rev>), CA_ADDR, --discoveryAddress, the istio.io/rev label.
func (m *Model) GatewayRevision(g *Gateway) (rev, source string) {
	rev, src := m.gatewayRevision(g)
	switch src {
	case srcConfigMap:
		return rev, "config-volume ConfigMap " + g.ConfigMap
	case srcCA:
		return rev, "CA_ADDR " + g.CAAddr
	case srcDiscovery:
		return rev, "--discoveryAddress " + g.DiscoveryAddress
	case srcInjector:
		h := m.InjectorOf(g.Workload)
		return rev, fmt.Sprintf("injected by %s webhook %s", h.Config.ID.Name, h.Name)
	case srcRequested:
		_, how := m.RequestedRevision(g.Workload)
		return rev, "injected, " + how + " (no injector in this input matches its pods)"
	case srcNone:
		return rev, "no control-plane reference"
	}
	return rev, "pod label " + LabelRev
}

// RevisionOfGateway is GatewayRevision's revision alone, without writing
// out how it was read (the verifier asks it of every gateway of every
// state, and needs the how only for a finding).
func (m *Model) RevisionOfGateway(g *Gateway) string {
	rev, _ := m.gatewayRevision(g)
	return rev
}

// revSource is how GatewayRevision read a revision.
type revSource uint8

const (
	srcLabel revSource = iota
	srcInjector
	srcRequested
	srcConfigMap
	srcCA
	srcDiscovery
	srcNone
)

func (m *Model) gatewayRevision(g *Gateway) (string, revSource) {
	if g.Injected {
		// The injector decides (see InjectorOf): a tag resolves to the
		// revision its webhook calls. A model without the injector (a
		// gateway render on its own) has only what the pods ask for.
		if h := m.InjectorOf(g.Workload); h != nil {
			if r, ok := m.WebhookRevision(h); ok {
				return r, srcInjector
			}
		}
		rev, _ := m.RequestedRevision(g.Workload)
		return rev, srcRequested
	}
	if r, ok := RevisionOfConfigMap(g.ConfigMap); ok {
		return r, srcConfigMap
	}
	ca, disc := m.ControlPlaneServices(g)
	if to, ok := g.CAService(); ok {
		if r, ok := m.serviceRevision(ca, to.Name); ok {
			return r, srcCA
		}
	}
	if to, ok := g.DiscoveryService(); ok {
		if r, ok := m.serviceRevision(disc, to.Name); ok {
			return r, srcDiscovery
		}
	}
	if r := g.PodLabels[LabelRev]; r != "" {
		return r, srcLabel
	}
	return DefaultRevision, srcNone
}

// FallbackDiscoveryAddress is where a proxy connects when its mesh config
// names no discovery address: the default revision's istiod
// (pkg/config/mesh/mesh.go DefaultProxyConfig, 1.6 and later).
const FallbackDiscoveryAddress = "istiod.istio-system.svc:15012"

// ConfigMapMissing reports whether the gateway mounts a mesh ConfigMap that
// is absent from its namespace in this input. Such a gateway starts anyway
// (the volume is optional) and silently talks to FallbackDiscoveryAddress.
func (m *Model) ConfigMapMissing(g *Gateway) bool {
	if g.ConfigMap == "" {
		return false
	}
	if g.of(m) != nil {
		return g.cmMissing
	}
	_, ok := m.ConfigMap(g.ID.Namespace, g.ConfigMap)
	return !ok
}

// ControlPlaneServices returns the Services of this model that the
// gateway's CA_ADDR and --discoveryAddress name (CAService,
// DiscoveryService), nil when they name none or it is absent.
func (m *Model) ControlPlaneServices(g *Gateway) (ca, disc *Service) {
	if g.of(m) != nil {
		return g.caService, g.discService
	}
	if id, ok := g.CAService(); ok {
		ca = m.servicesBy[id]
	}
	if id, ok := g.DiscoveryService(); ok {
		disc = m.servicesBy[id]
	}
	return ca, disc
}

// linkGateways resolves what the verifier asks of every gateway in every
// state while the model is built: the Services its control-plane
// addresses name, and whether its mesh ConfigMap is present.
func (m *Model) linkGateways() {
	for _, g := range m.Gateways {
		if id, ok := g.CAService(); ok {
			g.caService = m.servicesBy[id]
		}
		if id, ok := g.DiscoveryService(); ok {
			g.discService = m.servicesBy[id]
		}
		if g.ConfigMap != "" {
			_, ok := m.ConfigMap(g.ID.Namespace, g.ConfigMap)
			g.cmMissing = !ok
		}
	}
}
