package revisiongateway

import (
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
)

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
