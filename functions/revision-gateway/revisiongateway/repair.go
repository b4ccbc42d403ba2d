package revisiongateway

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Annotations kustomize keeps on renamed objects until the end of a build
// (kyaml/kio/filters; api/resource). Its final name-reference pass matches
// references by these previous names.
const (
	annotationPreviousNames      = "internal.config.kubernetes.io/previousNames"
	annotationPreviousNamespaces = "internal.config.kubernetes.io/previousNamespaces"
)

// fixReferences makes the references of the revisioned render follow its
// suffixed names, and keeps the running render's references as they are.
//
// When the revisioned render is suffixed in a sibling kustomization,
// kustomize renames the objects but fixes the references only at the end of
// the parent's build, by previous name: it then rewrites the RUNNING
// render's references too (kubernetes-sigs/kustomize#5856; seen with
// kustomize v5.7.1 on the seed renders): Deployment custom-gw would run as
// ServiceAccount custom-gw-service-account-1-6-14, RoleBinding custom-gw-sds
// would change its immutable roleRef, the running HPA would scale the
// canary. So, for each pair suffix s:
//
//   - an object whose name ends in s that references X, where X+s of the
//     same kind is in the input, now references X+s (the new render's own
//     ServiceAccount, Role, Deployment);
//   - an object whose name does not end in s that references X+s, where X
//     is in the input, references X again (undoing an earlier rewrite);
//   - the suffixed objects lose kustomize's previous-name annotations, so
//     that its final pass has nothing to rewrite.
func fixReferences(m *mesh.Model, pairs []mesh.GatewayPair, res *krm.Results) (bool, error) {
	suffixes := map[string]bool{}
	for _, p := range pairs {
		if p.Suffix != "" {
			suffixes[p.Suffix] = true
		}
	}
	sorted := make([]string, 0, len(suffixes))
	for s := range suffixes {
		sorted = append(sorted, s)
	}
	sort.Strings(sorted)
	changed := false
	var stripped []string
	for _, o := range m.Objects {
		for _, s := range sorted {
			renamed := strings.HasSuffix(o.ID.Name, s)
			for _, r := range m.References(o) {
				var want mesh.ID
				switch {
				case renamed && !strings.HasSuffix(r.To.Name, s):
					want = r.To
					want.Name += s
				case !renamed && strings.HasSuffix(r.To.Name, s):
					want = r.To
					want.Name = strings.TrimSuffix(r.To.Name, s)
				default:
					continue
				}
				if !m.Has(want) {
					continue
				}
				field, err := restore(o, r, want.Name)
				if err != nil {
					return false, err
				}
				if field == "" {
					continue
				}
				changed = true
				if renamed {
					res.Infof(o, "%s: %s (was %s): the revisioned render's references follow its suffixed names", field, want.Name, r.To.Name)
				} else {
					res.Infof(o, "%s: restored %s (was %s): kustomize's nameSuffix %s on the sibling revisioned render had rewritten this reference of the running render as well (kubernetes-sigs/kustomize#5856)", field, want.Name, r.To.Name, s)
				}
			}
			if renamed {
				if _, ok := o.Annotation(annotationPreviousNames); ok {
					for _, k := range []string{annotationPreviousNames, annotationPreviousNamespaces} {
						if err := o.Item().RemoveAnnotation(k); err != nil {
							return false, err
						}
					}
					stripped = append(stripped, o.ID.Kind+"/"+o.ID.Name)
				}
			}
		}
	}
	if len(stripped) > 0 {
		changed = true
		res.Infof(nil, "dropped kustomize's previous-name bookkeeping from %s, so that kustomize's final name-reference pass leaves the running render alone (kubernetes-sigs/kustomize#5856); revision-gateway set the revisioned render's references itself", strings.Join(stripped, ", "))
	}
	return changed, nil
}

// restore rewrites one reference of o back to name; it returns the field
// path it changed ("" when the reference kind is not one it knows).
func restore(o *mesh.Object, r mesh.Reference, name string) (string, error) {
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
