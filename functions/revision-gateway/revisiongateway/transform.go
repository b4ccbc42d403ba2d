// Package revisiongateway is steps S3 and S4 of the upgrade (see
// docs/upgrade-model.md).
//
// Mode canary (S3): the user renders the UNCHANGED gateway IstioOperator
// with the new istioctl and -r <rev> and carries the render as the data of
// a local-config ConfigMap (mesh.AnnotationCanaryRender), so that the two
// renders do not collide; the function gives its objects canary names
// (expand.go). For every running gateway paired with a revisioned one, the
// revisioned Deployment
// becomes a canary that the production Services and Istio Gateway resources
// select, that serves every production targetPort, that has its own
// selector, PDB, HPA or replicas, and that drains before it stops. The new
// render's own Services are removed (or turned into a ClusterIP preview).
//
// Mode shift (S4): every paired old gateway whose replacement is selected by
// the same production Services, serves their ports and guarantees at least
// the same capacity is scaled to 0 and loses its HPA. Nothing else changes.
package revisiongateway

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "RevisionGateway"

// Modes.
const (
	ModeCanary = "canary"
	ModeShift  = "shift"
)

// DefaultDrainSeconds is the default minimum preStop sleep of a canary
// gateway's proxy (see README.md for the reasoning).
const DefaultDrainSeconds = 20

// graceMargin is what terminationGracePeriodSeconds adds to the preStop
// sleep: pilot-agent's own termination drain after SIGTERM
// (TERMINATION_DRAIN_DURATION_SECONDS, default 5 s) plus 10 s for requests
// still in flight.
const graceMargin = 15

// maxDrainSeconds bounds spec.drainSeconds (an hour of sleep is a typo).
const maxDrainSeconds = 3600

// Annotations revision-gateway writes.
const (
	// AnnotationReplaces on a canary Deployment names the gateway it
	// replaces (namespace/name).
	AnnotationReplaces = "revshift.dev/replaces"
	// AnnotationPreviewOf on a preview Service names the production Service
	// whose ports it mirrors (namespace/name).
	AnnotationPreviewOf = "revshift.dev/preview-of"
)

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: RevisionGateway
//	metadata: {name: canary}
//	spec:
//	  mode: canary            # canary (S3, default) or shift (S4)
//	  revision: 1-6-14        # only canaries of this revision (default: any)
//	  render: target-gateways # the carried canary render to expand (default: every one)
//	  pairs:                  # explicit pairs instead of name matching
//	  - {namespace: default, old: custom-gw, new: custom-gw-1-6-14}
//	  previewService: false   # keep a ClusterIP preview Service per production Service
//	  drainSeconds: 20        # minimum preStop sleep on the canary's proxy
//	  ordering:
//	    argocdSyncWave: "1"   # sync-wave on the canary's objects (canary) or the retired Deployments (shift)
//	    kptDependsOn: true    # depends-on: canary -> its SA, RoleBindings, mesh ConfigMap; retired -> canary
type Spec struct {
	Mode           string   `yaml:"mode,omitempty"`
	Revision       string   `yaml:"revision,omitempty"`
	Render         string   `yaml:"render,omitempty"`
	Pairs          []Pair   `yaml:"pairs,omitempty"`
	PreviewService bool     `yaml:"previewService,omitempty"`
	DrainSeconds   *int64   `yaml:"drainSeconds,omitempty"`
	Ordering       Ordering `yaml:"ordering,omitempty"`
}

// Pair names a running gateway and its replacement explicitly.
type Pair struct {
	Namespace string `yaml:"namespace"`
	Old       string `yaml:"old"`
	New       string `yaml:"new"`
}

// Ordering makes the canary land before what depends on it.
type Ordering struct {
	ArgoCDSyncWave string `yaml:"argocdSyncWave,omitempty"`
	KptDependsOn   bool   `yaml:"kptDependsOn,omitempty"`
}

// Validate checks the spec (krm.DecodeConfig calls it).
func (s Spec) Validate() error {
	switch s.Mode {
	case "", ModeCanary, ModeShift:
	default:
		return fmt.Errorf("functionConfig spec.mode: %q is not %q or %q", s.Mode, ModeCanary, ModeShift)
	}
	if err := krm.CheckRevision("revision", s.Revision); err != nil {
		return err
	}
	for i, p := range s.Pairs {
		if p.Namespace == "" || p.Old == "" || p.New == "" {
			return fmt.Errorf("functionConfig spec.pairs[%d]: namespace, old and new are all required", i)
		}
	}
	if d := s.DrainSeconds; d != nil && (*d < 0 || *d > maxDrainSeconds) {
		return fmt.Errorf("functionConfig spec.drainSeconds: %d is not between 0 and %d", *d, maxDrainSeconds)
	}
	if w := s.Ordering.ArgoCDSyncWave; w != "" {
		if _, err := strconv.Atoi(w); err != nil {
			return fmt.Errorf("functionConfig spec.ordering.argocdSyncWave: %q is not an integer", w)
		}
	}
	return nil
}

// decode reads the functionConfig and fills in the defaults.
func decode(config *yaml.RNode) (Spec, error) {
	var spec Spec
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return spec, err
	}
	if spec.Mode == "" {
		spec.Mode = ModeCanary
	}
	if spec.DrainSeconds == nil {
		d := int64(DefaultDrainSeconds)
		spec.DrainSeconds = &d
	}
	return spec, nil
}

// Transform runs the configured mode. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	spec, err := decode(config)
	if err != nil {
		return nil, err
	}
	// The canaries are made in mode canary; the shift finds them in its
	// input (after canary in a Step, or in the canary step's output).
	var implied []mesh.PairRequest
	if spec.Mode == ModeCanary {
		if items, implied, err = expand(items, spec, res); err != nil {
			return nil, err
		}
	}
	m, err := build(items)
	if err != nil {
		return nil, err
	}
	reqs := make([]mesh.PairRequest, len(spec.Pairs))
	for i, p := range spec.Pairs {
		reqs[i] = mesh.PairRequest{Namespace: p.Namespace, Old: p.Old, New: p.New}
	}
	if len(reqs) == 0 {
		reqs = implied
	}
	pairs, perrs := m.PairGateways(reqs, spec.Revision)
	for _, e := range perrs {
		res.Errorf(e.Object, "%s", e.Msg)
	}
	if len(perrs) > 0 {
		return items, nil
	}
	if len(pairs) == 0 {
		if len(m.Gateways) == 0 {
			res.Infof(nil, "no gateway Deployments in the input: nothing to do")
			return items, nil
		}
		var gs []string
		for _, g := range m.Gateways {
			rev := m.RevisionOfGateway(g)
			gs = append(gs, fmt.Sprintf("%s (revision %s)", g.ID, rev))
		}
		res.Errorf(nil, "no gateway pairs: none of %s is the revisioned copy of another. Carry the new revision's gateway render as a ConfigMap annotated %s (see the README), so that custom-gw's canary is custom-gw-<revision>, or list spec.pairs", strings.Join(gs, ", "), mesh.AnnotationCanaryRender)
		return items, nil
	}
	paired := map[*mesh.Gateway]bool{}
	for _, p := range pairs {
		paired[p.Old], paired[p.New] = true, true
	}
	for _, g := range m.Gateways {
		if !paired[g] {
			rev := m.RevisionOfGateway(g)
			res.Infof(g.Object, "gateway %s (revision %s) has no replacement in the input: left as is", g.ID, rev)
		}
	}
	if renamedBySibling(pairs, res) {
		return items, nil
	}
	if spec.Mode == ModeShift {
		return shift(items, m, pairs, spec, res)
	}
	pinInjected(pairs, spec.Revision, res)
	return canary(items, pairs, spec, res)
}

// build indexes the items; two objects with the same identity most often
// mean the new render was sent as resources, not carried.
func build(items []*mesh.Item) (*mesh.Model, error) {
	m, err := mesh.BuildItems(items)
	var dup *mesh.DuplicateError
	if errors.As(err, &dup) {
		return nil, fmt.Errorf("%w\n(hint: the revisioned render keeps the running gateways' names; carry it as a ConfigMap annotated %s (see the README) so that revision-gateway gives it canary names)", err, mesh.AnnotationCanaryRender)
	}
	return m, err
}

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
