package revisiongateway

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// annotationPreviousNames is what kustomize keeps on a renamed object until
// the end of a build (kyaml/kio/filters; api/resource); its final
// name-reference pass matches references by these previous names.
const annotationPreviousNames = "internal.config.kubernetes.io/previousNames"

// renamedBySibling refuses a canary that kustomize renamed in a sibling
// kustomization (nameSuffix next to the running render): kustomize fixes
// the references of such a rename only at the end of the parent's build, by
// previous name, and then rewrites the running render's references too
// (kubernetes-sigs/kustomize#5856; seen with kustomize v5.7.1: the running
// gateway would run as the canary's ServiceAccount, its RoleBinding would
// change its immutable roleRef). Undoing that by comparing name suffixes
// once bound the new istiod's ClusterRoleBindings to the old ServiceAccount
// (a revision name and the suffix are the same string), so the renamed
// input is refused, with the carrier that replaces it.
func renamedBySibling(pairs []mesh.GatewayPair, res *krm.Results) bool {
	refused := false
	for _, p := range pairs {
		_, renamed := p.New.Annotation(annotationPreviousNames)
		_, oldRenamed := p.Old.Annotation(annotationPreviousNames)
		if !renamed || oldRenamed {
			continue
		}
		res.Errorf(p.New.Object, "renamed by kustomize (%s) next to the running render it replaces: kustomize's final name-reference pass would rewrite the running render's references to the canary's names (kubernetes-sigs/kustomize#5856). Carry the new gateway render unrenamed as a ConfigMap annotated %s and let revision-gateway name the canaries (see the README)", annotationPreviousNames, mesh.AnnotationCanaryRender)
		refused = true
	}
	return refused
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
