package revisiongateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// servePorts (invariant 2) makes the canary's pods serve every targetPort
// of every production Service.
func servePorts(w *work, o, n *mesh.Workload, g *mesh.Gateway, prod, render []*mesh.Service, res *krm.Results) error {
	proxy, err := container(n.Node(), g.Proxy.Index)
	if err != nil {
		return err
	}
	ps := &portServer{w: w, o: o, n: n, proxy: proxy, render: render, declared: map[int64]bool{}, res: res}
	for _, c := range n.Containers {
		for _, p := range c.Ports {
			ps.declared[p.Port] = true
		}
	}
	for _, s := range prod {
		var added []string
		for _, sp := range mesh.UnservedTargetPorts(s, n) {
			serve := ps.number
			if sp.TargetPort.IsName {
				serve = ps.name
			}
			d, err := serve(s, sp)
			if err != nil {
				return err
			}
			if d != "" {
				added = append(added, d)
			}
		}
		if len(added) > 0 {
			res.Infof(n.Object, "declared on container %s the targetPorts of production %s: %s; with the new render's own Service gone, pilot builds the gateway listeners on the targetPorts of %s", g.Proxy.Name, s.ID, strings.Join(added, ", "), s.ID)
		}
	}
	return nil
}

// portServer declares, on the proxy container of canary n, the targetPorts
// that its pods do not serve yet; o is the running gateway, render the new
// render's own Services.
type portServer struct {
	w        *work
	o, n     *mesh.Workload
	proxy    *yaml.RNode
	render   []*mesh.Service
	declared map[int64]bool
	res      *krm.Results
}

// natural is where the new version listens for a Service port: the
// targetPort of the new render's own Service on that port.
func (ps *portServer) natural(port int64) (int64, bool) {
	for _, s := range ps.render {
		if sp, ok := s.Port(port); ok {
			if !sp.TargetPort.IsName {
				return sp.TargetPort.Num, true
			}
			if num, ok := ps.n.ServesPort(sp.TargetPort); ok {
				return num, true
			}
		}
	}
	return 0, false
}

// fail reports an error on Service s: the canary cannot serve its port.
func (ps *portServer) fail(s *mesh.Service, format string, args ...any) {
	ps.res.Errorf(s.Object, format, args...)
	ps.w.failed = true
}

// number declares a numeric targetPort. It returns what it declared, or ""
// when the port is declared already or cannot be (reported).
func (ps *portServer) number(s *mesh.Service, sp mesh.ServicePort) (string, error) {
	t := sp.TargetPort.Num
	if ps.declared[t] {
		return "", nil
	}
	ok, why := ps.n.CanBind(t)
	if !ok {
		ps.fail(s, "%s", privilegedError(s, sp, ps.n, ps.natural, why))
		return "", nil
	}
	if err := appendPort(ps.proxy, "", t, sp.Protocol); err != nil {
		return "", err
	}
	ps.declared[t] = true
	d := fmt.Sprintf("%d (port %d", t, sp.Port)
	if nat, ok := ps.natural(sp.Port); ok && nat != t {
		d += fmt.Sprintf("; the new render listens on %d", nat)
	}
	if t < mesh.PrivilegedPortLimit {
		d += "; " + why
	}
	return d + ")", nil
}

// name declares a named targetPort on the number the new render serves it
// on (else the running gateway): it names the canary's containerPort of
// that number, or declares one. It returns what it declared, or "" when it
// cannot (reported).
func (ps *portServer) name(s *mesh.Service, sp mesh.ServicePort) (string, error) {
	name := sp.TargetPort.Name
	num, ok := ps.natural(sp.Port)
	if !ok {
		num, ok = ps.o.ServesPort(sp.TargetPort)
	}
	if !ok {
		ps.fail(s, "%s sends port %d to targetPort %s, which neither %s nor the new render's Services resolve to a port number; declare a containerPort named %s on %s", s.ID, sp.Port, name, ps.o.ID, name, ps.n.ID)
		return "", nil
	}
	if c, p := declaredPort(ps.n, num); p != nil {
		if p.Name != "" {
			ps.fail(s, "%s sends port %d to targetPort %s, which canary %s should serve on containerPort %d, but that port is already named %s", s.ID, sp.Port, name, ps.n.ID, num, p.Name)
			return "", nil
		}
		cn, err := container(ps.n.Node(), c.Index)
		if err != nil {
			return "", err
		}
		if err := namePort(cn, num, name); err != nil {
			return "", fmt.Errorf("%s: %v", ps.n.ID, err)
		}
		return fmt.Sprintf("%s (named containerPort %d, port %d)", name, num, sp.Port), nil
	}
	ok, why := ps.n.CanBind(num)
	if !ok {
		ps.fail(s, "%s", privilegedError(s, sp, ps.n, ps.natural, why))
		return "", nil
	}
	if err := appendPort(ps.proxy, name, num, sp.Protocol); err != nil {
		return "", err
	}
	ps.declared[num] = true
	return fmt.Sprintf("%s (containerPort %d, port %d)", name, num, sp.Port), nil
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
