package revisiongateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type previewSvc struct {
	id   mesh.ID
	node *yaml.RNode
}

func previewSuffix(w *work) string {
	if w.Suffix != "" {
		return w.Suffix
	}
	return "-preview"
}

// preview builds the ClusterIP preview of production Service p: named as
// the new render names its copy of p, selecting only the canary's pods
// (its matchLabels), with p's ports (nodePorts dropped). An existing object
// of that name is rewritten when it is the new render's Service or an
// earlier preview; otherwise nil is returned.
func preview(m *mesh.Model, w *work, p *mesh.Service, n *mesh.Workload) (*previewSvc, bool, error) {
	id := mesh.ID{Kind: "Service", Namespace: p.ID.Namespace, Name: p.ID.Name + previewSuffix(w)}
	ml := n.MatchLabels()
	if len(ml) == 0 || w.discKey == "" || ml[w.discKey] != w.discValue {
		return nil, false, fmt.Errorf("%s: spec.selector.matchLabels do not tell the canary's pods from the running ones; a preview Service cannot select only them", n.ID)
	}
	node := yaml.NewMapRNode(nil)
	steps := []yaml.Filter{
		yaml.SetField("apiVersion", yaml.NewStringRNode("v1")),
		yaml.SetField("kind", yaml.NewStringRNode("Service")),
	}
	for _, s := range steps {
		if err := node.PipeE(s); err != nil {
			return nil, false, err
		}
	}
	if err := node.SetName(id.Name); err != nil {
		return nil, false, err
	}
	if err := node.SetNamespace(id.Namespace); err != nil {
		return nil, false, err
	}
	if l := p.Node().GetLabels(); len(l) > 0 {
		if err := node.SetLabels(l); err != nil {
			return nil, false, err
		}
	}
	if err := node.SetAnnotations(map[string]string{AnnotationPreviewOf: p.ID.Namespace + "/" + p.ID.Name}); err != nil {
		return nil, false, err
	}
	if err := setString(node, []string{"spec"}, "type", "ClusterIP"); err != nil {
		return nil, false, err
	}
	for _, k := range sortedKeys(ml) {
		if err := setString(node, []string{"spec", "selector"}, k, ml[k]); err != nil {
			return nil, false, err
		}
	}
	ports, err := p.Node().Pipe(yaml.Lookup("spec", "ports"))
	if err != nil {
		return nil, false, err
	}
	if ports != nil {
		cp := ports.Copy()
		for _, e := range cp.Content() {
			if err := yaml.NewRNode(e).PipeE(yaml.Clear("nodePort")); err != nil {
				return nil, false, err
			}
		}
		if err := node.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("ports", cp)); err != nil {
			return nil, false, err
		}
	}
	if existing, ok := m.Get(id); ok {
		if !contains(w.renderSvcs, id) && existing.Node().GetAnnotations()[AnnotationPreviewOf] == "" {
			return nil, false, nil
		}
		existing.Node().YNode().Content = node.YNode().Content
		return &previewSvc{id: id, node: existing.Node()}, false, nil
	}
	return &previewSvc{id: id, node: node}, true, nil
}

// servePorts (invariant 2) makes the canary's pods serve every targetPort
// of every production Service.
func servePorts(m *mesh.Model, w *work, o, n *mesh.Workload, g *mesh.Gateway, prod, render []*mesh.Service, res *krm.Results) error {
	proxy, err := container(n.Node(), g.Proxy.Index)
	if err != nil {
		return err
	}
	declared := map[int64]bool{}
	for _, c := range n.Containers {
		for _, p := range c.Ports {
			declared[p.Port] = true
		}
	}
	// natural is where the new version listens for a Service port: the
	// targetPort of the new render's own Service on that port.
	natural := func(port int64) (int64, bool) {
		for _, s := range render {
			if sp, ok := s.Port(port); ok {
				if !sp.TargetPort.IsName {
					return sp.TargetPort.Num, true
				}
				if num, ok := n.ServesPort(sp.TargetPort); ok {
					return num, true
				}
			}
		}
		return 0, false
	}
	for _, s := range prod {
		var added []string
		for _, sp := range mesh.UnservedTargetPorts(s, n) {
			if !sp.TargetPort.IsName {
				t := sp.TargetPort.Num
				if declared[t] {
					continue
				}
				ok, why := n.CanBind(t)
				if !ok {
					res.Errorf(s.Object, "%s", privilegedError(s, sp, n, natural, why))
					w.failed = true
					continue
				}
				if err := appendPort(proxy, "", t, sp.Protocol); err != nil {
					return err
				}
				declared[t] = true
				d := fmt.Sprintf("%d (port %d", t, sp.Port)
				if nat, ok := natural(sp.Port); ok && nat != t {
					d += fmt.Sprintf("; the new render listens on %d", nat)
				}
				if t < mesh.PrivilegedPortLimit {
					d += "; " + why
				}
				added = append(added, d+")")
				continue
			}
			name := sp.TargetPort.Name
			num, ok := natural(sp.Port)
			if !ok {
				num, ok = o.ServesPort(sp.TargetPort)
			}
			if !ok {
				res.Errorf(s.Object, "%s sends port %d to targetPort %s, which neither %s nor the new render's Services resolve to a port number; declare a containerPort named %s on %s", s.ID, sp.Port, name, o.ID, name, n.ID)
				w.failed = true
				continue
			}
			if c, p := declaredPort(n, num); p != nil {
				if p.Name != "" {
					res.Errorf(s.Object, "%s sends port %d to targetPort %s, which canary %s should serve on containerPort %d, but that port is already named %s", s.ID, sp.Port, name, n.ID, num, p.Name)
					w.failed = true
					continue
				}
				cn, err := container(n.Node(), c.Index)
				if err != nil {
					return err
				}
				if err := namePort(cn, num, name); err != nil {
					return fmt.Errorf("%s: %v", n.ID, err)
				}
				added = append(added, fmt.Sprintf("%s (named containerPort %d, port %d)", name, num, sp.Port))
				continue
			}
			ok, why := n.CanBind(num)
			if !ok {
				res.Errorf(s.Object, "%s", privilegedError(s, sp, n, natural, why))
				w.failed = true
				continue
			}
			if err := appendPort(proxy, name, num, sp.Protocol); err != nil {
				return err
			}
			declared[num] = true
			added = append(added, fmt.Sprintf("%s (containerPort %d, port %d)", name, num, sp.Port))
		}
		if len(added) > 0 {
			res.Infof(n.Object, "declared on container %s the targetPorts of production %s: %s; with the new render's own Service gone, pilot builds the gateway listeners on the targetPorts of %s", g.Proxy.Name, s.ID, strings.Join(added, ", "), s.ID)
		}
	}
	return nil
}

func declaredPort(w *mesh.Workload, port int64) (*mesh.Container, *mesh.ContainerPort) {
	for i := range w.Containers {
		c := &w.Containers[i]
		for j := range c.Ports {
			if c.Ports[j].Port == port {
				return c, &c.Ports[j]
			}
		}
	}
	return nil, nil
}

func privilegedError(s *mesh.Service, sp mesh.ServicePort, n *mesh.Workload, natural func(int64) (int64, bool), why string) string {
	alt := "a port from 1024 up"
	if nat, ok := natural(sp.Port); ok && nat >= mesh.PrivilegedPortLimit {
		alt = strconv.FormatInt(nat, 10)
	}
	name := sp.Name
	if name == "" {
		name = "http"
	}
	return fmt.Sprintf("%s sends port %d to targetPort %s, which canary %s cannot serve: %s. "+
		"Two ways out: (1) keep the new gateway root (render it with values.gateways.istio-ingressgateway.runAsRoot=true) so it can listen on %s; "+
		"or (2) in a step before this one, move %s to a named targetPort that both pod sets serve (e.g. targetPort: %s, declared as containerPort %s on the running pods and %s on the canary's)",
		s.ID, sp.Port, sp.TargetPort, n.ID, why, sp.TargetPort, s.ID, name, sp.TargetPort, alt)
}

type pdbResult struct {
	created []*yaml.RNode
	canary  []*yaml.RNode
}

// fixPDBs (invariant 7): the canary gets one PDB that selects exactly its
// pods; no other PDB selects them.
func fixPDBs(m *mesh.Model, w *work, o, n *mesh.Workload, res *krm.Results) (pdbResult, error) {
	var r pdbResult
	ns := n.ID.Namespace
	canaryID := mesh.ID{Group: "policy", Kind: "PodDisruptionBudget", Namespace: ns, Name: n.ID.Name}
	oldPDBs := o.PDBs()
	named, hasNamed := m.Get(mesh.ID{Group: "policy", Kind: "PodDisruptionBudget", Namespace: ns, Name: o.ID.Name})
	if len(oldPDBs) == 0 && hasNamed && pdbEmpty(m, named.ID) && w.discKey != "" {
		// The running gateway's own PDB selects no pod at all (the 1.5 and
		// 1.6 charts add release: istio, which the pods do not carry): give
		// it the running gateway's selector, without the canary's pods, so
		// that both pod sets keep a budget during the canary (invariant 7).
		cur, _ := named.Node().Pipe(yaml.Lookup("spec", "selector"))
		was := "(none)"
		if cur != nil {
			was = flow(cur.YNode())
		}
		osel := yaml.NewRNode(o.SelectorNode()).Copy()
		expr, err := notIn(w.discKey, w.discValue)
		if err != nil {
			return r, err
		}
		if err := osel.PipeE(yaml.LookupCreate(yaml.SequenceNode, "matchExpressions"), yaml.Append(expr.YNode())); err != nil {
			return r, err
		}
		if err := named.Node().PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", osel)); err != nil {
			return r, err
		}
		res.Infof(named, "%s selected no pod (spec.selector %s asks for labels the pods of %s do not carry); it now selects the pods of %s and not the canary's (spec.selector %s), so that both keep a budget (invariant 7)", named.ID, was, o.ID, o.ID, flow(osel.YNode()))
	}
	sel := yaml.NewRNode(n.SelectorNode()).Copy()
	if existing, ok := m.Get(canaryID); ok {
		cur, _ := existing.Node().Pipe(yaml.Lookup("spec", "selector"))
		var curNode *yaml.Node
		if cur != nil {
			curNode = cur.YNode()
		}
		if was := flow(curNode); was != flow(sel.YNode()) {
			if err := existing.Node().PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", sel)); err != nil {
				return r, err
			}
			res.Infof(existing, "%s now selects exactly the pods of canary %s (spec.selector %s, was %s)", canaryID, n.ID, flow(sel.YNode()), was)
		}
		r.canary = append(r.canary, existing.Node())
	} else {
		var tmpl *mesh.Object
		if len(oldPDBs) > 0 {
			tmpl = oldPDBs[0].Object
		} else if hasNamed {
			tmpl = named
		}
		if tmpl != nil {
			p, err := newPDB(tmpl, canaryID, sel)
			if err != nil {
				return r, err
			}
			r.created = append(r.created, p)
			r.canary = append(r.canary, p)
			res.Infof(&mesh.Object{APIVersion: tmpl.APIVersion, ID: canaryID}, "created %s for canary %s, with the budget of %s and spec.selector %s", canaryID, n.ID, tmpl.ID, flow(sel.YNode()))
		}
	}
	for _, p := range n.PDBs() {
		if p.ID == canaryID {
			continue
		}
		if w.discKey == "" {
			res.Errorf(p.Object, "%s also selects the pods of canary %s and no label tells them apart to narrow it (a pod selected by two PDBs cannot be evicted: istio/istio#23075)", p.ID, n.ID)
			w.failed = true
			continue
		}
		expr, err := notIn(w.discKey, w.discValue)
		if err != nil {
			return r, err
		}
		if err := p.Node().PipeE(yaml.LookupCreate(yaml.SequenceNode, "spec", "selector", "matchExpressions"), yaml.Append(expr.YNode())); err != nil {
			return r, err
		}
		res.Infof(p.Object, "narrowed %s with matchExpressions {key: %s, operator: NotIn, values: [%s]} so that it no longer selects the pods of canary %s, which %s covers (a pod selected by two PDBs cannot be evicted: istio/istio#23075)", p.ID, w.discKey, w.discValue, n.ID, canaryID)
	}
	return r, nil
}

func newPDB(tmpl *mesh.Object, id mesh.ID, sel *yaml.RNode) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	for _, f := range []yaml.Filter{
		yaml.SetField("apiVersion", yaml.NewStringRNode(tmpl.APIVersion)),
		yaml.SetField("kind", yaml.NewStringRNode("PodDisruptionBudget")),
	} {
		if err := n.PipeE(f); err != nil {
			return nil, err
		}
	}
	if err := n.SetName(id.Name); err != nil {
		return nil, err
	}
	if err := n.SetNamespace(id.Namespace); err != nil {
		return nil, err
	}
	if l := tmpl.Node().GetLabels(); len(l) > 0 {
		if err := n.SetLabels(l); err != nil {
			return nil, err
		}
	}
	for _, f := range []string{"minAvailable", "maxUnavailable", "unhealthyPodEvictionPolicy"} {
		if v, _ := tmpl.Node().Pipe(yaml.Lookup("spec", f)); v != nil {
			if err := n.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField(f, v.Copy())); err != nil {
				return nil, err
			}
		}
	}
	return n, n.PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField("selector", sel))
}

// notIn is the selector requirement {key: k, operator: NotIn, values: [v]},
// fields in that order.
func notIn(k, v string) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	for _, f := range []yaml.Filter{
		yaml.SetField("key", yaml.NewStringRNode(k)),
		yaml.SetField("operator", yaml.NewStringRNode("NotIn")),
		yaml.SetField("values", yaml.NewListRNode(v)),
	} {
		if err := n.PipeE(f); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// pdbEmpty reports whether the PDB id selects no workload at all.
func pdbEmpty(m *mesh.Model, id mesh.ID) bool {
	for _, p := range m.PDBs {
		if p.ID == id {
			return len(p.Selected()) == 0
		}
	}
	return false
}

type scaleResult struct {
	created *yaml.RNode
	node    *yaml.RNode
}

// fixScale: the canary's HPA follows it with bounds no lower than the
// running gateway's; without HPAs, replicas equal the running gateway's.
func fixScale(m *mesh.Model, w *work, o, n *mesh.Workload, res *krm.Results) (scaleResult, error) {
	var r scaleResult
	var canaryH, oldH *mesh.HPA
	for _, h := range m.HPAs {
		if h.ID.Namespace != n.ID.Namespace || (h.TargetKind != "" && h.TargetKind != "Deployment") {
			continue
		}
		switch {
		case h.ID.Name == n.ID.Name || (h.TargetName == n.ID.Name && canaryH == nil):
			canaryH = h
		case h.TargetName == o.ID.Name && oldH == nil:
			oldH = h
		}
	}
	if oldH != nil && oldH == canaryH {
		oldH = nil
	}
	minWant, maxWant := o.DesiredReplicas(), int64(0)
	from := fmt.Sprintf("%s's replicas %d", o.ID, minWant)
	if oldH != nil {
		minWant, maxWant = oldH.MinReplicas, oldH.MaxReplicas
		from = fmt.Sprintf("%s of %s: %d..%d", oldH.ID, o.ID, oldH.MinReplicas, oldH.MaxReplicas)
	}
	switch {
	case canaryH != nil:
		r.node = canaryH.Node()
		var changes []string
		if canaryH.TargetName != n.ID.Name {
			if err := setString(canaryH.Node(), []string{"spec", "scaleTargetRef"}, "name", n.ID.Name); err != nil {
				return r, err
			}
			changes = append(changes, fmt.Sprintf("scaleTargetRef.name %s (was %s)", n.ID.Name, canaryH.TargetName))
		}
		minR, maxR := canaryH.MinReplicas, canaryH.MaxReplicas
		if minR < minWant {
			changes = append(changes, fmt.Sprintf("minReplicas %d (was %d)", minWant, minR))
			minR = minWant
			if err := setInt(canaryH.Node(), []string{"spec"}, "minReplicas", minR); err != nil {
				return r, err
			}
		}
		if maxWant < minR {
			maxWant = minR
		}
		if maxR < maxWant {
			changes = append(changes, fmt.Sprintf("maxReplicas %d (was %d)", maxWant, maxR))
			maxR = maxWant
			if err := setInt(canaryH.Node(), []string{"spec"}, "maxReplicas", maxR); err != nil {
				return r, err
			}
		}
		msg := fmt.Sprintf("%s scales canary %s between %d and %d, not below %s", canaryH.ID, n.ID, minR, maxR, from)
		if len(changes) > 0 {
			msg += "; set " + strings.Join(changes, ", ")
		}
		res.Infof(canaryH.Object, "%s", msg)
	case oldH != nil:
		c := oldH.Node().Copy()
		for _, f := range []string{"status"} {
			if err := c.PipeE(yaml.Clear(f)); err != nil {
				return r, err
			}
		}
		meta := yaml.NewMapRNode(nil)
		if err := c.PipeE(yaml.SetField("metadata", meta)); err != nil {
			return r, err
		}
		if err := c.SetName(n.ID.Name); err != nil {
			return r, err
		}
		if err := c.SetNamespace(n.ID.Namespace); err != nil {
			return r, err
		}
		if l := oldH.Node().GetLabels(); len(l) > 0 {
			if err := c.SetLabels(l); err != nil {
				return r, err
			}
		}
		if err := setString(c, []string{"spec", "scaleTargetRef"}, "name", n.ID.Name); err != nil {
			return r, err
		}
		r.created, r.node = c, c
		res.Infof(&mesh.Object{APIVersion: oldH.APIVersion, ID: mesh.ID{Group: oldH.ID.Group, Kind: oldH.ID.Kind, Namespace: n.ID.Namespace, Name: n.ID.Name}}, "created HPA %s/%s for canary %s as a copy of %s (%d..%d): the new render has none", n.ID.Namespace, n.ID.Name, n.ID, oldH.ID, oldH.MinReplicas, oldH.MaxReplicas)
	default:
		want := o.DesiredReplicas()
		switch {
		case want == 0:
			res.Warnf(n.Object, "running gateway %s has 0 replicas and no HPA: the canary keeps its own replicas (%d)", o.ID, n.DesiredReplicas())
		case n.DesiredReplicas() != want || n.Replicas == nil && o.Replicas != nil:
			if err := setInt(n.Node(), []string{"spec"}, "replicas", want); err != nil {
				return r, err
			}
			res.Infof(n.Object, "replicas %d (was %d): the same as %s", want, n.DesiredReplicas(), o.ID)
		}
	}
	return r, nil
}

// serviceAccount checks that the canary's ServiceAccount and its bindings
// follow it. It returns the identities the canary depends on and the RBAC
// objects that belong to it (not materialized: only an ordering annotation
// edits them).
func serviceAccount(m *mesh.Model, o, n *mesh.Workload, res *krm.Results) ([]mesh.ID, []*mesh.Object) {
	if n.ServiceAccount == "" {
		res.Warnf(n.Object, "canary %s sets no serviceAccountName: it runs as the namespace's default ServiceAccount", n.ID)
		return nil, nil
	}
	saID := mesh.ID{Kind: "ServiceAccount", Namespace: n.ID.Namespace, Name: n.ServiceAccount}
	sa, ok := m.Get(saID)
	if !ok {
		res.Errorf(n.Object, "spec.template.spec.serviceAccountName %s: no such ServiceAccount in the input, so the canary's pods cannot be created; render the new gateway's ServiceAccount with it (in the carried render, revision-gateway renames both)", n.ServiceAccount)
		return nil, nil
	}
	deps := []mesh.ID{saID}
	var objs []*mesh.Object
	shared := n.ServiceAccount == o.ServiceAccount
	if !shared {
		objs = append(objs, sa)
	}
	bound := func(id mesh.ID) []mesh.ID {
		var out []mesh.ID
		for _, r := range m.ReferencesTo(id) {
			if r.Why == "subject" {
				out = append(out, r.From)
			}
		}
		return out
	}
	bs := bound(saID)
	var desc []string
	for _, b := range bs {
		if b.Kind != "RoleBinding" {
			continue
		}
		bo, _ := m.Get(b)
		if !shared {
			objs = append(objs, bo)
		}
		deps = append(deps, b)
		d := "RoleBinding " + b.Name
		for _, r := range m.References(bo) {
			if r.Why == "roleRef" {
				d += " (" + r.To.Kind + " " + r.To.Name + ")"
				if ro, ok := m.Get(r.To); ok && r.To.Namespace == n.ID.Namespace && !shared {
					objs = append(objs, ro)
				}
			}
		}
		desc = append(desc, d)
	}
	if shared {
		res.Warnf(n.Object, "canary %s shares ServiceAccount %s with %s: the prune step must keep it", n.ID, n.ServiceAccount, o.ID)
	} else if old := bound(mesh.ID{Kind: "ServiceAccount", Namespace: o.ID.Namespace, Name: o.ServiceAccount}); len(old) > 0 && len(bs) == 0 {
		res.Warnf(n.Object, "ServiceAccount %s of %s is bound by %s, but ServiceAccount %s of the canary by nothing", o.ServiceAccount, o.ID, idList(old), n.ServiceAccount)
	}
	msg := fmt.Sprintf("canary %s runs as ServiceAccount %s", n.ID, n.ServiceAccount)
	if len(desc) > 0 {
		msg += ", bound by " + strings.Join(desc, ", ")
	}
	res.Infof(sa, "%s", msg)
	return deps, objs
}

// drain gives the canary's proxy a preStop sleep of at least secs and a
// grace period longer than it.
func drain(n *mesh.Workload, g *mesh.Gateway, secs int64, res *krm.Results) error {
	if secs == 0 {
		return nil
	}
	c, err := container(n.Node(), g.Proxy.Index)
	if err != nil {
		return err
	}
	cur, plain, present := sleepSeconds(c)
	effective := secs
	switch {
	case !present:
		if err := setSleep(c, secs); err != nil {
			return err
		}
		res.Infof(n.Object, "container %s: preStop sleep %d added, so that the pod keeps serving while it leaves the Service endpoints and the load balancer", g.Proxy.Name, secs)
	case plain && cur < secs:
		if err := setSleep(c, secs); err != nil {
			return err
		}
		res.Infof(n.Object, "container %s: preStop sleep %d (was %d, below spec.drainSeconds)", g.Proxy.Name, secs, cur)
	case plain:
		effective = cur
	default:
		res.Warnf(n.Object, "container %s keeps its own preStop hook (not a plain sleep); make sure it waits at least %d s", g.Proxy.Name, secs)
	}
	want := effective + graceMargin
	cur = 30 // API default
	if n.TerminationGracePeriodSeconds != nil {
		cur = *n.TerminationGracePeriodSeconds
	}
	if cur < want {
		if err := setInt(n.Node(), []string{"spec", "template", "spec"}, "terminationGracePeriodSeconds", want); err != nil {
			return err
		}
		res.Infof(n.Object, "terminationGracePeriodSeconds %d (was %d): the %d s preStop sleep, pilot-agent's 5 s termination drain and 10 s for requests in flight", want, cur, effective)
	}
	return nil
}
