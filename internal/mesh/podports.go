package mesh

import (
	"fmt"
	"strconv"
)

// Which ports a gateway pod serves and which it can open.

// PrivilegedPortLimit is the first port an unprivileged process may bind
// (Linux's default net.ipv4.ip_unprivileged_port_start).
const PrivilegedPortLimit = 1024

// EnvUnprivilegedPod is the proxy metadata by which a gateway tells pilot it
// cannot bind privileged ports. Pilot then skips every gateway listener
// below 1024 ("skipping privileged gateway port ... as it is an unprivileged
// pod", pilot/pkg/networking/core/v1alpha3/gateway.go buildGatewayListeners,
// 1.7 onwards; the gateway charts set it unless runAsRoot is true).
const EnvUnprivilegedPod = "ISTIO_META_UNPRIVILEGED_POD"

// sysctlUnprivilegedPortStart lowers the first unprivileged port in the
// pod's network namespace (a "safe" sysctl since Kubernetes 1.22).
const sysctlUnprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start"

// UnservedTargetPorts returns the ports of s whose targetPort the workload's
// pods do not serve (invariant 2), in the Service's order.
func UnservedTargetPorts(s *Service, w *Workload) []ServicePort {
	var out []ServicePort
	for _, p := range s.Ports {
		if _, ok := w.ServesPort(p.TargetPort); !ok {
			out = append(out, p)
		}
	}
	return out
}

// CanBind answers "may this pod's proxy listen on port": every port from
// PrivilegedPortLimit up; a lower one only when the pod runs as root or
// lowers net.ipv4.ip_unprivileged_port_start, and never when the proxy
// declares EnvUnprivilegedPod (pilot then builds no listener there). why
// explains the answer for messages.
func (w *Workload) CanBind(port int64) (ok bool, why string) {
	if port >= PrivilegedPortLimit {
		return true, fmt.Sprintf("port %d is not privileged", port)
	}
	for _, c := range w.Containers {
		if v, err := strconv.ParseBool(c.Env[EnvUnprivilegedPod]); err == nil && v {
			return false, fmt.Sprintf("container %s sets %s=%s, so pilot builds no listener below %d", c.Name, EnvUnprivilegedPod, c.Env[EnvUnprivilegedPod], PrivilegedPortLimit)
		}
	}
	if w.RunsAsRoot {
		return true, "the pod runs as root (no runAsNonRoot, no non-zero runAsUser)"
	}
	for _, s := range seq(lookup(w.Node().YNode(), "spec", "template", "spec", "securityContext", "sysctls")) {
		if scalar(lookup(s, "name")) != sysctlUnprivilegedPortStart {
			continue
		}
		if v, err := strconv.ParseInt(scalar(lookup(s, "value")), 10, 64); err == nil && v <= port {
			return true, fmt.Sprintf("the pod sets %s=%d", sysctlUnprivilegedPortStart, v)
		}
	}
	return false, "the pod runs as non-root (runAsNonRoot or a non-zero runAsUser)"
}
