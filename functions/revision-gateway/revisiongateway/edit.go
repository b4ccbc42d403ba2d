package revisiongateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Small, in-place edits of rendered objects. Everything they touch is named
// by path; comments and field order elsewhere are kept.

var (
	podLabelsPath   = []string{"spec", "template", "metadata", "labels"}
	matchLabelsPath = []string{"spec", "selector", "matchLabels"}
)

// setString sets key under the mapping at path (created when missing).
func setString(n *yaml.RNode, path []string, key, value string) error {
	return n.PipeE(yaml.LookupCreate(yaml.MappingNode, path...), yaml.SetField(key, yaml.NewStringRNode(value)))
}

// setInt sets key under the mapping at path to an integer.
func setInt(n *yaml.RNode, path []string, key string, value int64) error {
	return n.PipeE(yaml.LookupCreate(yaml.MappingNode, path...), yaml.SetField(key, intNode(value)))
}

// intNode is an integer scalar (tagged, so that no serializer quotes it).
func intNode(v int64) *yaml.RNode {
	return yaml.NewRNode(&yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: strconv.FormatInt(v, 10)})
}

// container returns the node of the pod template's i-th container.
func container(n *yaml.RNode, i int) (*yaml.RNode, error) {
	cs, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers"))
	if err != nil {
		return nil, err
	}
	if cs == nil || i >= len(cs.Content()) {
		return nil, fmt.Errorf("spec.template.spec.containers[%d]: missing", i)
	}
	return yaml.NewRNode(cs.Content()[i]), nil
}

// appendPort appends a containerPort to a container.
func appendPort(c *yaml.RNode, name string, port int64, protocol string) error {
	p := yaml.NewMapRNode(nil)
	if name != "" {
		if err := p.PipeE(yaml.SetField("name", yaml.NewStringRNode(name))); err != nil {
			return err
		}
	}
	if err := p.PipeE(yaml.SetField("containerPort", intNode(port))); err != nil {
		return err
	}
	if protocol != "" {
		if err := p.PipeE(yaml.SetField("protocol", yaml.NewStringRNode(protocol))); err != nil {
			return err
		}
	}
	return c.PipeE(yaml.LookupCreate(yaml.SequenceNode, "ports"), yaml.Append(p.YNode()))
}

// namePort names the (unnamed) containerPort port of a container.
func namePort(c *yaml.RNode, port int64, name string) error {
	ps, err := c.Pipe(yaml.Lookup("ports"))
	if err != nil || ps == nil {
		return fmt.Errorf("ports: missing")
	}
	for _, p := range ps.Content() {
		pn := yaml.NewRNode(p)
		if v, _ := pn.Pipe(yaml.Lookup("containerPort")); v != nil && v.YNode().Value == strconv.FormatInt(port, 10) {
			return pn.PipeE(yaml.SetField("name", yaml.NewStringRNode(name)))
		}
	}
	return fmt.Errorf("containerPort %d: missing", port)
}

// sleepSeconds reads a preStop hook that only sleeps: exec of `sleep N` or
// `sh -c "sleep N"`, or the sleep action (Kubernetes 1.30+). ok is false for
// any other hook; present is false when there is none.
func sleepSeconds(c *yaml.RNode) (secs int64, ok, present bool) {
	pre, _ := c.Pipe(yaml.Lookup("lifecycle", "preStop"))
	if pre == nil {
		return 0, false, false
	}
	if s, _ := pre.Pipe(yaml.Lookup("sleep", "seconds")); s != nil {
		v, err := strconv.ParseInt(s.YNode().Value, 10, 64)
		return v, err == nil, true
	}
	cmd, _ := pre.Pipe(yaml.Lookup("exec", "command"))
	if cmd == nil {
		return 0, false, true
	}
	var words []string
	for _, w := range cmd.Content() {
		words = append(words, w.Value)
	}
	if len(words) == 3 && (words[0] == "sh" || words[0] == "/bin/sh") && words[1] == "-c" {
		words = strings.Fields(words[2])
	}
	if len(words) == 2 && (words[0] == "sleep" || words[0] == "/bin/sleep") {
		v, err := strconv.ParseInt(words[1], 10, 64)
		return v, err == nil && v >= 0, true
	}
	return 0, false, true
}

// setSleep makes the preStop hook `sh -c "sleep N"` (the form istioctl
// overlays use; the proxyv2 image has a shell).
func setSleep(c *yaml.RNode, secs int64) error {
	cmd := yaml.NewListRNode("sh", "-c", fmt.Sprintf("sleep %d", secs))
	if err := c.PipeE(yaml.LookupCreate(yaml.MappingNode, "lifecycle"), yaml.Clear("preStop")); err != nil {
		return err
	}
	return c.PipeE(yaml.LookupCreate(yaml.MappingNode, "lifecycle", "preStop", "exec"), yaml.SetField("command", cmd))
}

// setArgValue replaces the value of a flag in a container's args (both
// `--flag value` and `--flag=value`).
func setArgValue(c *yaml.RNode, flag, value string) (bool, error) {
	args, err := c.Pipe(yaml.Lookup("args"))
	if err != nil || args == nil {
		return false, err
	}
	as := args.Content()
	for i, a := range as {
		switch {
		case a.Value == flag && i+1 < len(as):
			as[i+1].Value, as[i+1].Tag, as[i+1].Style = value, yaml.NodeTagString, 0
			return true, nil
		case strings.HasPrefix(a.Value, flag+"="):
			a.Value = flag + "=" + value
			return true, nil
		}
	}
	return false, nil
}

// addAnnotation sets an annotation.
func addAnnotation(n *yaml.RNode, k, v string) error {
	return n.PipeE(yaml.LookupCreate(yaml.MappingNode, "metadata", "annotations"), yaml.SetField(k, yaml.NewStringRNode(v)))
}

// addDependsOn adds ids to n's kpt depends-on annotation (mesh.DependsOn).
func addDependsOn(n *yaml.RNode, ids ...mesh.ID) error {
	v, changed := mesh.WithDependsOn(n.GetAnnotations()[mesh.AnnotationDependsOn], ids...)
	if !changed {
		return nil
	}
	return addAnnotation(n, mesh.AnnotationDependsOn, v)
}

// flow renders a node on one line for messages.
func flow(n *yaml.Node) string {
	if n == nil {
		return "(none)"
	}
	c := *n
	setFlow(&c)
	s, err := yaml.String(&c)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(s)
}

func setFlow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
	}
	n.Content = append([]*yaml.Node(nil), n.Content...)
	for i, c := range n.Content {
		cc := *c
		setFlow(&cc)
		n.Content[i] = &cc
	}
}

// retarget rewrites one reference of o to name; it returns the field path
// it changed ("" when the reference kind is not one it knows).
func retarget(o *mesh.Object, r mesh.Reference, name string) (string, error) {
	n := o.Node()
	set := func(path []string, key string) (string, error) {
		f, err := n.Pipe(yaml.Lookup(append(path, key)...))
		if err != nil || f == nil || f.YNode().Value != r.To.Name {
			return "", err
		}
		f.YNode().Value = name
		return strings.Join(append(path, key), "."), nil
	}
	switch {
	case r.Why == "serviceAccountName":
		for _, k := range []string{"serviceAccountName", "serviceAccount"} {
			if f, err := set([]string{"spec", "template", "spec"}, k); f != "" || err != nil {
				return f, err
			}
		}
	case r.Why == "scaleTargetRef":
		return set([]string{"spec", "scaleTargetRef"}, "name")
	case r.Why == "roleRef":
		return set([]string{"roleRef"}, "name")
	case r.Why == "subject":
		subs, err := n.Pipe(yaml.Lookup("subjects"))
		if err != nil || subs == nil {
			return "", err
		}
		for i, s := range subs.Content() {
			sn := yaml.NewRNode(s)
			if f, err := sn.Pipe(yaml.Lookup("name")); err == nil && f != nil && f.YNode().Value == r.To.Name && r.To.Kind == "ServiceAccount" {
				if k, _ := sn.Pipe(yaml.Lookup("kind")); k != nil && k.YNode().Value == "ServiceAccount" {
					f.YNode().Value = name
					return "subjects[" + strconv.Itoa(i) + "].name", nil
				}
			}
		}
	case strings.HasPrefix(r.Why, "volume "):
		vols, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "volumes"))
		if err != nil || vols == nil {
			return "", err
		}
		vname := strings.TrimPrefix(r.Why, "volume ")
		for i, v := range vols.Content() {
			vn := yaml.NewRNode(v)
			if nm, _ := vn.Pipe(yaml.Lookup("name")); nm == nil || nm.YNode().Value != vname {
				continue
			}
			for _, p := range [][]string{{"configMap", "name"}, {"secret", "secretName"}} {
				if f, _ := vn.Pipe(yaml.Lookup(p...)); f != nil && f.YNode().Value == r.To.Name {
					f.YNode().Value = name
					return fmt.Sprintf("spec.template.spec.volumes[%d].%s", i, strings.Join(p, ".")), nil
				}
			}
		}
	}
	return "", nil
}
