// Package plan writes the whole upgrade as step directories from two
// renders: the running control plane and gateways (--from) and the target
// rendered with --revision (--to). Each step NN-name/ is a kustomization that
// builds, with `kustomize build --enable-alpha-plugins --enable-exec`, to
// the complete desired state at that step.
//
// Layout of the output:
//
//	inputs/running/                 the --from renders, as they are (S0)
//	inputs/kustomization.yaml       the same renders carried as the data of a
//	                                local-config ConfigMap (they collide with
//	                                the target's names, so later states read
//	                                them through canary-control-plane)
//	inputs/target/                  the --to control-plane renders
//	inputs/target-gateways/         the --to gateway renders, carried as the
//	                                data of a local-config ConfigMap:
//	                                revision-gateway names their canaries
//	inputs/target-default-gateway/  the target's non-revisioned default
//	                                gateway, carried the same way
//	inputs/include/                 the user's other objects (--include)
//	NN-name/kustomization.yaml      resources from inputs/, and one transformer:
//	NN-name/revshift.yaml           a Step running every function of the state
//	                                in one exec call (`revshift fn`)
//	NN-name/gate.yaml               what to wait for before the next step
//	                                (internal/gate; WriteGates, from the
//	                                built states: not in the kustomization)
//
// Steps share the inputs instead of building on the previous step: a
// kustomize base runs its own transformers, so chaining step N on step N-1
// would cost N exec calls (about 0.85 s each on the seed renders). A step's
// Step config lists the functions of every state up to it; they are
// deterministic and idempotent, so state N is state N-1 plus step N's change.
package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/revshift/revshift/functions/revision-gateway/revisiongateway"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/step"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Options are revshift plan's flags.
type Options struct {
	From, To, Out string
	// Include are folders of the user's other objects (Namespaces,
	// applications), part of every state.
	Include []string
	// Revision is the target revision; inferred from --to when empty.
	Revision string
	// ExecDir pins the folder of the revshift binary in the written steps;
	// empty means the bare name, looked up on PATH.
	ExecDir string
	// Rollback writes the reverse walk.
	Rollback bool
	// Tags are the revision tags to move to the revision (--tag).
	Tags []string
}

// File is one render file.
type File struct {
	Name  string
	Data  []byte
	Nodes []*yaml.RNode
	Model *mesh.Model
}

// Step is one state of the plan.
type Step struct {
	// Slug is the step's name without its number ("canary-gateways").
	Slug  string
	Title string
	// Resources are folders under inputs/ (relative to inputs/).
	Resources []string
	// Carrier is true when the running render travels as data.
	Carrier bool
	// Functions are the calls of the step's Step functionConfig, each with
	// its function's own Spec.
	Functions []step.Call
	// Changes, Watch and Rollback are the README's paragraphs.
	Changes, Watch, Rollback string
}

// Plan is what plan computed from the renders.
type Plan struct {
	Opts     Options
	Revision string
	Running  []File
	TargetCP []File
	TargetGW []File
	Include  []File
	// DefaultGateway is the target's non-revisioned gateway objects that
	// collide with running ones, to be migrated as canaries.
	DefaultGateway []*yaml.RNode
	// NewCRDs are the target's CRDs that the running render lacks: a
	// rollback keeps them (deleting a CRD deletes every resource of its
	// kind).
	NewCRDs []*yaml.RNode
	// UserPairs and DefaultPairs are the running gateways and their
	// canaries: the user gateways, and those rendered with the control
	// plane.
	UserPairs    []revisiongateway.Pair
	DefaultPairs []revisiongateway.Pair
	// GatewayNamespaces are where the target's user gateways run, outside
	// the control-plane namespace.
	GatewayNamespaces []string
	// Tags are the revision tags the plan moves (--tag, checked).
	Tags []string
	// Notes are what the user should know of the plan (printed by revshift
	// plan).
	Notes []string
	Steps []Step
}

// ReadDir reads the YAML files of a folder (not recursive), in name order.
func ReadDir(dir string) ([]File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, e := range entries {
		if e.IsDir() || !isRender(e.Name()) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		nodes, err := (&kio.ByteReader{Reader: strings.NewReader(string(data)), OmitReaderAnnotations: true}).Read()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, e.Name()), err)
		}
		m, err := mesh.Build(nodes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, e.Name()), err)
		}
		if err := mesh.NotRendered(m); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, e.Name()), err)
		}
		out = append(out, File{Name: e.Name(), Data: data, Nodes: nodes, Model: m})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no YAML files", dir)
	}
	return out, nil
}

// isRender reports whether a file of a renders' folder is a render: YAML,
// and not a kustomization.
func isRender(name string) bool {
	return (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) && name != "kustomization.yaml"
}

func allNodes(fs []File) []*yaml.RNode {
	var out []*yaml.RNode
	for _, f := range fs {
		out = append(out, f.Nodes...)
	}
	return out
}

// New reads the renders and computes the plan.
func New(o Options) (*Plan, error) {
	p := &Plan{Opts: o}
	var err error
	if p.Running, err = ReadDir(o.From); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	to, err := ReadDir(o.To)
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	for _, dir := range o.Include {
		fs, err := ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("--include: %w", err)
		}
		p.Include = append(p.Include, fs...)
	}
	for _, f := range to {
		if len(f.Model.Istiods) == 0 && len(f.Model.Gateways) > 0 {
			p.TargetGW = append(p.TargetGW, f)
		} else {
			p.TargetCP = append(p.TargetCP, f)
		}
	}
	running, err := mesh.Build(allNodes(p.Running))
	if err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	target, err := mesh.Build(allNodes(to))
	if err != nil {
		return nil, fmt.Errorf("--to: %w", err)
	}
	if p.Revision, err = revision(o.Revision, running, target); err != nil {
		return nil, err
	}
	if err := p.pairGateways(running, target); err != nil {
		return nil, err
	}
	if err := p.checkTags(running, target); err != nil {
		return nil, err
	}
	for _, o := range target.Objects {
		if mesh.IsCRD(o.ID) && !running.Has(o.ID) {
			p.NewCRDs = append(p.NewCRDs, o.Node())
		}
	}
	p.steps(running)
	return p, nil
}

// revision is --revision, or the one revision whose istiod the target has
// and the running render has not.
func revision(want string, running, target *mesh.Model) (string, error) {
	if len(target.Istiods) == 0 {
		return "", fmt.Errorf("--to: no istiod in the target renders: render the target control plane with istioctl manifest generate --revision <rev>")
	}
	isRunning := map[string]bool{}
	for _, r := range running.Revisions() {
		isRunning[r] = true
	}
	if want != "" {
		if err := mesh.ValidRevision(want); err != nil {
			return "", fmt.Errorf("--revision: %v", err)
		}
		if len(target.IstiodsOf(want)) == 0 {
			return "", fmt.Errorf("--revision %s: the target renders have no istiod of that revision (they have %s)", want, strings.Join(target.Revisions(), ", "))
		}
		if isRunning[want] {
			return "", fmt.Errorf("--revision %s: that revision is already running", want)
		}
		return want, nil
	}
	var cands []string
	for _, r := range target.Revisions() {
		if !isRunning[r] {
			cands = append(cands, r)
		}
	}
	switch {
	case len(cands) == 1:
		return cands[0], mesh.ValidRevision(cands[0])
	case len(cands) > 1:
		return "", fmt.Errorf("--to: several new revisions (%s): pass --revision", strings.Join(cands, ", "))
	}
	same := ""
	if rv, tv := versions(running), versions(target); rv != "" && rv == tv {
		same = fmt.Sprintf(" (both renders run Istio %s)", rv)
	}
	return "", fmt.Errorf("--from and --to are renders of the same revision %s%s: render the target with istioctl manifest generate --revision <rev>", strings.Join(target.Revisions(), ", "), same)
}

func versions(m *mesh.Model) string {
	var vs []string
	for _, i := range m.Istiods {
		if v, ok := mesh.IstiodVersion(i); ok {
			vs = append(vs, v.String())
		}
	}
	sort.Strings(vs)
	return strings.Join(vs, ",")
}

// pairGateways pairs the target's user gateways with the running ones (by
// namespace and name), and finds the target's non-revisioned gateways that
// would replace running ones in place (the default istio-ingressgateway).
func (p *Plan) pairGateways(running, target *mesh.Model) error {
	cpNS := map[string]bool{}
	for _, i := range target.IstiodsOf(p.Revision) {
		cpNS[i.ID.Namespace] = true
	}
	nsSet := map[string]bool{}
	var unpaired []string
	for _, f := range p.TargetGW {
		for _, g := range f.Model.Gateways {
			old := running.Deployment(g.ID.Namespace, g.ID.Name)
			if old == nil || old.Gateway() == nil {
				unpaired = append(unpaired, g.ID.Namespace+"/"+g.ID.Name)
				continue
			}
			p.UserPairs = append(p.UserPairs, revisiongateway.Pair{Namespace: g.ID.Namespace, Old: g.ID.Name, New: mesh.CanaryName(g.ID.Name, p.Revision)})
			// The copy is for a gateway that mounts a mesh ConfigMap; an
			// injected one mounts none (its injector's gateway template
			// gives the proxy its mesh config).
			if !cpNS[g.ID.Namespace] && g.ConfigMap != "" {
				nsSet[g.ID.Namespace] = true
			}
		}
	}
	if len(p.TargetGW) > 0 && len(p.UserPairs) == 0 {
		var runningGWs []string
		for _, g := range running.Gateways {
			runningGWs = append(runningGWs, g.ID.Namespace+"/"+g.ID.Name)
		}
		return fmt.Errorf("no gateway of the target pairs up with a running one: the target's gateways %s have no running gateway of the same namespace and name (running gateways: %s); render the UNCHANGED gateway IstioOperator with -r %s", strings.Join(unpaired, ", "), strings.Join(runningGWs, ", "), p.Revision)
	}

	// The target control plane's non-revisioned gateways that collide with
	// running ones: canary-control-plane holds them back; they are migrated
	// as canaries of their own.
	for _, f := range p.TargetCP {
		for _, g := range f.Model.Gateways {
			old := running.Deployment(g.ID.Namespace, g.ID.Name)
			if old == nil || old.Gateway() == nil {
				continue
			}
			if rev := f.Model.RevisionOfGateway(g); rev != p.Revision {
				continue
			}
			p.DefaultPairs = append(p.DefaultPairs, revisiongateway.Pair{Namespace: g.ID.Namespace, Old: g.ID.Name, New: mesh.CanaryName(g.ID.Name, p.Revision)})
			for _, o := range f.Model.GatewayParts(g) {
				p.DefaultGateway = append(p.DefaultGateway, o.Node())
			}
			// A gateway rendered with the control plane but outside its
			// namespace needs the ConfigMap copy too, before it starts.
			if !cpNS[g.ID.Namespace] {
				nsSet[g.ID.Namespace] = true
			}
		}
	}
	for ns := range nsSet {
		p.GatewayNamespaces = append(p.GatewayNamespaces, ns)
	}
	sort.Strings(p.GatewayNamespaces)
	return nil
}
