package verify

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

// WriteMermaid prints the traffic path of one state as a Mermaid flowchart:
// each production Service, the gateway Deployments it selects (revision and
// replicas; scaled to zero drawn dashed), the istiod each gateway talks to,
// and the webhooks with the Services they call. GitHub and GitLab render it
// in a ```mermaid block. The output is deterministic.
func WriteMermaid(w io.Writer, m *mesh.Model) error {
	v := newView(m)
	g := &graph{ids: map[mesh.ID]string{}}
	bw := bufio.NewWriter(w)
	p := &printer{}
	p.println(bw, "flowchart LR")

	for _, s := range v.production {
		sn := g.node(s.ID, fmt.Sprintf("Service %s/%s<br/>%s", s.ID.Namespace, s.ID.Name, orDefault(s.Type, "ClusterIP")), "svc")
		for _, wl := range s.Selected() {
			gw := wl.Gateway()
			if gw == nil {
				continue
			}
			rev := m.RevisionOfGateway(gw)
			cls := "gw"
			if !v.running(wl) {
				cls = "off"
			}
			wn := g.node(wl.ID, fmt.Sprintf("Deployment %s/%s<br/>rev %s, %s", wl.ID.Namespace, wl.ID.Name, rev, replicasText(v, wl)), cls)
			g.edge(sn, wn, "")
		}
	}
	for _, gw := range m.Gateways {
		wn, ok := g.ids[gw.ID]
		if !ok {
			continue
		}
		for _, e := range controlPlaneOf(v, gw) {
			in := g.istiod(v, e.istiod)
			g.edge(wn, in, e.label)
		}
	}
	for _, h := range m.Webhooks {
		if h.Service == nil {
			continue
		}
		kind := "validating"
		if h.Mutating {
			kind = "mutating"
		}
		hn := g.node(mesh.ID{Kind: "webhook", Name: h.Config.ID.Name + "/" + h.Name}, fmt.Sprintf("%s webhook %s<br/>%s, failurePolicy %s", kind, h.Config.ID.Name, h.Name, h.FailurePolicy), "hook")
		svc, ws := m.WebhookTarget(h)
		if svc == nil {
			mn := g.node(h.Service.ID(), fmt.Sprintf("Service %s/%s<br/>MISSING", h.Service.Namespace, h.Service.Name), "missing")
			g.edge(hn, mn, "")
			continue
		}
		sn := g.node(svc.ID, fmt.Sprintf("Service %s/%s", svc.ID.Namespace, svc.ID.Name), "svc")
		g.edge(hn, sn, "")
		for _, wl := range ws {
			if i := wl.Istiod(); i != nil {
				g.edge(sn, g.istiod(v, i), "")
			}
		}
	}
	for _, l := range g.lines {
		p.println(bw, "  "+l)
	}
	p.println(bw, "  classDef svc fill:#e3f2fd,stroke:#1565c0")
	p.println(bw, "  classDef gw fill:#e8f5e9,stroke:#2e7d32")
	p.println(bw, "  classDef off fill:#f5f5f5,stroke:#9e9e9e,stroke-dasharray:4 3")
	p.println(bw, "  classDef istiod fill:#fff3e0,stroke:#ef6c00")
	p.println(bw, "  classDef hook fill:#f3e5f5,stroke:#6a1b9a")
	p.println(bw, "  classDef missing fill:#ffebee,stroke:#c62828,stroke-dasharray:4 3")
	return p.flush(bw)
}

type cpEdge struct {
	istiod *mesh.Istiod
	label  string
}

// controlPlaneOf returns the istiods a gateway talks to: the istiods selected
// by the Services its CA_ADDR and discoveryAddress name, else (a missing
// istio-<rev>) the fallback address's, else its revision's.
func controlPlaneOf(v *view, gw *mesh.Gateway) []cpEdge {
	m := v.m
	var out []cpEdge
	seen := map[*mesh.Istiod]bool{}
	addSvc := func(ns, name, label string) {
		s := m.Service(ns, name)
		if s == nil {
			return
		}
		for _, w := range s.Selected() {
			if i := w.Istiod(); i != nil && !seen[i] {
				seen[i] = true
				out = append(out, cpEdge{i, label})
			}
		}
	}
	if !gw.Injected {
		for _, r := range m.References(gw.Object) {
			if r.Why == "CA_ADDR" || r.Why == "--discoveryAddress" {
				addSvc(r.To.Namespace, r.To.Name, r.Why)
			}
		}
		if m.ConfigMapMissing(gw) {
			if id, ok := mesh.AddressService(mesh.FallbackDiscoveryAddress, gw.ID.Namespace); ok {
				addSvc(id.Namespace, id.Name, "fallback: "+gw.ConfigMap+" missing")
			}
		}
	}
	if len(out) == 0 {
		rev := m.RevisionOfGateway(gw)
		for _, i := range m.IstiodsOf(rev) {
			if !seen[i] {
				seen[i] = true
				out = append(out, cpEdge{i, "rev " + rev})
			}
		}
	}
	return out
}

type graph struct {
	ids   map[mesh.ID]string
	lines []string
	n     int
	edges map[string]bool
}

func (g *graph) node(id mesh.ID, label, class string) string {
	if n, ok := g.ids[id]; ok {
		return n
	}
	g.n++
	n := fmt.Sprintf("n%d", g.n)
	g.ids[id] = n
	g.lines = append(g.lines, fmt.Sprintf("%s[\"%s\"]:::%s", n, escape(label), class))
	return n
}

func (g *graph) istiod(v *view, i *mesh.Istiod) string {
	return g.node(i.ID, fmt.Sprintf("istiod %s/%s<br/>rev %s, %s", i.ID.Namespace, i.ID.Name, i.Revision, replicasText(v, i.Workload)), "istiod")
}

func (g *graph) edge(from, to, label string) {
	if g.edges == nil {
		g.edges = map[string]bool{}
	}
	key := from + ">" + to
	if g.edges[key] {
		return
	}
	g.edges[key] = true
	if label == "" {
		g.lines = append(g.lines, fmt.Sprintf("%s --> %s", from, to))
		return
	}
	g.lines = append(g.lines, fmt.Sprintf("%s -- \"%s\" --> %s", from, escape(label), to))
}

func replicasText(v *view, w *mesh.Workload) string {
	if h := v.m.HPAFor(w); h != nil {
		return fmt.Sprintf("HPA min %d", h.MinReplicas)
	}
	n := w.DesiredReplicas()
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// escape makes a label safe inside Mermaid double quotes.
// The "<br/>" line breaks the labels are built with are kept.
func escape(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")
	parts := strings.Split(s, "<br/>")
	for i, p := range parts {
		parts[i] = r.Replace(p)
	}
	return strings.Join(parts, "<br/>")
}
