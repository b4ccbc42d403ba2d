package mesh

// ControlPlaneLink is one address a non-injected gateway's proxy dials for
// its control plane, and the Service of this model it names.
type ControlPlaneLink struct {
	// Why is "CA_ADDR", "--discoveryAddress" or WhyFallbackDiscovery.
	Why     string
	Address string
	// To is the Service the address names; Service is it in this model
	// (nil when absent).
	To      ID
	Service *Service
}

// ControlPlaneLinks appends to dst the addresses a gateway dials for its control
// plane and their Services: CA_ADDR, --discoveryAddress, and, when the
// gateway has no --discoveryAddress and its mesh ConfigMap is absent,
// FallbackDiscoveryAddress (see ConfigMapMissing). An injected gateway
// gets its addresses from its revision's injector: it has none here. The
// discoveryAddress inside a present mesh ConfigMap is not followed (the
// model does not read ConfigMap data; PruneReferences does, from nodes).
func (m *Model) ControlPlaneLinks(dst []ControlPlaneLink, g *Gateway) []ControlPlaneLink {
	out := dst
	if g.Injected {
		return out
	}
	ca, disc := m.ControlPlaneServices(g)
	if id, ok := g.CAService(); ok {
		out = append(out, ControlPlaneLink{Why: "CA_ADDR", Address: g.CAAddr, To: id, Service: ca})
	}
	if id, ok := g.DiscoveryService(); ok {
		out = append(out, ControlPlaneLink{Why: "--discoveryAddress", Address: g.DiscoveryAddress, To: id, Service: disc})
	} else if g.DiscoveryAddress == "" && m.ConfigMapMissing(g) {
		id, _ := AddressService(FallbackDiscoveryAddress, g.ID.Namespace)
		out = append(out, ControlPlaneLink{Why: WhyFallbackDiscovery, Address: FallbackDiscoveryAddress, To: id, Service: m.servicesBy[id]})
	}
	return out
}
