package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/step"
	"sigs.k8s.io/kustomize/kyaml/fn/runtime/runtimeutil"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Order is the order in which the steps are written: forward, or reversed
// for --rollback.
func (p *Plan) Order() []Step {
	if !p.Opts.Rollback {
		return p.Steps
	}
	out := make([]Step, len(p.Steps))
	for i, s := range p.Steps {
		out[len(p.Steps)-1-i] = s
	}
	return out
}

// Dirs are the written step directory names, in order.
func (p *Plan) Dirs() []string {
	var out []string
	for i, s := range p.Order() {
		out = append(out, fmt.Sprintf("%02d-%s", i, s.Slug))
	}
	return out
}

// Marker is the file revshift plan leaves in every folder it writes. A
// later plan into the same --out replaces those folders (so that a shorter
// plan leaves no stale step behind) and refuses to touch a folder of the
// same name without it: it may be the user's.
const Marker = ".revshift-plan"

// Write writes the inputs and the step directories into Opts.Out.
func (p *Plan) Write() error {
	out := p.Opts.Out
	if err := clearOut(out); err != nil {
		return err
	}
	w := &writer{}
	if err := p.writeInputs(w, filepath.Join(out, "inputs")); err != nil {
		return err
	}
	for i, s := range p.Order() {
		dir := filepath.Join(out, fmt.Sprintf("%02d-%s", i, s.Slug))
		var res []string
		if s.Carrier {
			res = append(res, "../inputs")
		}
		for _, r := range s.Resources {
			res = append(res, "../inputs/"+r)
		}
		if p.Opts.Rollback && s.Slug == "running" && len(p.NewCRDs) > 0 {
			res = append(res, "../inputs/target-crds")
		}
		k := kust{resources: res}
		if len(s.Functions) > 0 {
			k.transformers = []string{"revshift.yaml"}
			cfg, err := p.stepConfig(s)
			if err != nil {
				return err
			}
			w.file(filepath.Join(dir, "revshift.yaml"), cfg)
		}
		w.kustomization(dir, fmt.Sprintf("%s\n#   kustomize build --enable-alpha-plugins --enable-exec .", s.Title), k)
	}
	return w.err
}

// clearOut makes --out and removes the folders an earlier plan wrote into
// it; a folder of such a name without the Marker is an error.
func clearOut(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var ours []string
	for _, e := range entries {
		if !e.IsDir() || !planFolder(e.Name()) {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, e.Name(), Marker)); err != nil {
			return fmt.Errorf("--out %s: %s exists and was not written by revshift plan (no %s in it): choose another --out, or remove it", out, e.Name(), Marker)
		}
		ours = append(ours, e.Name())
	}
	for _, d := range ours {
		if err := os.RemoveAll(filepath.Join(out, d)); err != nil {
			return err
		}
	}
	return nil
}

// writeInputs writes inputs/: the renders, and the kustomizations that
// carry them.
func (p *Plan) writeInputs(w *writer, in string) error {
	// inputs/running: the running renders as resources (S0).
	w.files(filepath.Join(in, "running"), p.Running)
	w.kustomization(filepath.Join(in, "running"), "The running renders (--from), as they are: the state S0.", kust{resources: names(p.Running)})
	// inputs/kustomization.yaml: the same files as the data of a
	// local-config ConfigMap, for every later state.
	var carried []string
	for _, f := range p.Running {
		carried = append(carried, "running/"+f.Name)
	}
	w.kustomization(in, "The running renders (--from) carried as the data of a ConfigMap: they collide with the\n# target's names (CRDs, ClusterRoles, the default gateway), so later states read them through\n# canary-control-plane (spec.includeRunning). local-config: never applied.", kust{carrier: &carrier{name: "running-render", annotation: mesh.AnnotationRunningRender, files: carried}})
	w.files(filepath.Join(in, "target"), p.TargetCP)
	w.kustomization(filepath.Join(in, "target"), "The target control plane (--to), rendered with --revision "+p.Revision+".", kust{resources: names(p.TargetCP)})
	if len(p.TargetGW) > 0 {
		w.files(filepath.Join(in, "target-gateways"), p.TargetGW)
		w.kustomization(filepath.Join(in, "target-gateways"), "The target gateways (--to), rendered from the UNCHANGED gateway IstioOperator with -r "+p.Revision+".\n# Their names are the running ones, so they travel as data: revision-gateway gives each object its\n# canary name (<name>-"+p.Revision+") and makes the render's references follow. local-config: never applied.", kust{carrier: &carrier{name: TargetGatewaysCarrier, annotation: mesh.AnnotationCanaryRender, files: names(p.TargetGW)}})
	}
	if len(p.DefaultGateway) > 0 {
		data, err := extracted("# The target control plane's default gateway (non-revisioned, same names as the running one),\n# extracted from the --to render by revshift plan. canary-control-plane holds it back; it is\n# migrated as a canary of its own.\n", p.DefaultGateway)
		if err != nil {
			return err
		}
		name := "default-gateway.rev-" + p.Revision + ".yaml"
		w.file(filepath.Join(in, "target-default-gateway", name), data)
		w.kustomization(filepath.Join(in, "target-default-gateway"), "The target's default gateway, carried like the user gateways: revision-gateway names its canary.", kust{carrier: &carrier{name: DefaultGatewayCarrier, annotation: mesh.AnnotationCanaryRender, files: []string{name}}})
	}
	if p.Opts.Rollback && len(p.NewCRDs) > 0 {
		data, err := extracted("# The target's CustomResourceDefinitions that the running render lacks, extracted from the --to\n# render by revshift plan: the rollback keeps them, since deleting a CRD deletes every resource\n# of its kind.\n", p.NewCRDs)
		if err != nil {
			return err
		}
		w.file(filepath.Join(in, "target-crds", "crds.rev-"+p.Revision+".yaml"), data)
		w.kustomization(filepath.Join(in, "target-crds"), "CRDs the rollback keeps.", kust{resources: []string{"crds.rev-" + p.Revision + ".yaml"}})
	}
	if len(p.Include) > 0 {
		w.files(filepath.Join(in, "include"), p.Include)
		w.kustomization(filepath.Join(in, "include"), "The user's other objects (--include), part of every state.", kust{resources: names(p.Include)})
	}
	return nil
}

// extracted is a file of objects revshift plan extracted from a render,
// headed by a comment that says so.
func extracted(comment string, nodes []*yaml.RNode) ([]byte, error) {
	buf := bytes.NewBufferString(comment)
	if err := (kio.ByteWriter{Writer: buf}).Write(nodes); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// planFolder reports whether a folder of --out has a name revshift plan
// writes: a step (NN-name), inputs or prerendered.
func planFolder(n string) bool {
	return stepDirName(n) || n == "inputs" || n == "prerendered"
}

func stepDirName(n string) bool {
	i := strings.IndexByte(n, '-')
	if i < 1 {
		return false
	}
	for _, c := range n[:i] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func names(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	sort.Strings(out)
	return out
}

// stepConfig is the Step functionConfig of a step.
func (p *Plan) stepConfig(s Step) ([]byte, error) {
	path := "revshift"
	if p.Opts.ExecDir != "" {
		path = filepath.Join(p.Opts.ExecDir, "revshift")
	}
	n, err := step.NewConfig(s.Slug,
		map[string]string{runtimeutil.FunctionAnnotationKey: fmt.Sprintf("exec:\n  path: %s\n  args: [fn]\n", path)},
		// Info results: kustomize parses and discards them; the plan's
		// README says what each step changes, and verify checks it.
		step.Spec{Functions: s.Functions, Results: step.ResultsWarnings})
	if err != nil {
		return nil, err
	}
	return []byte("# The functions of this state, run in one exec call (`revshift fn`): each step's list is the\n# previous step's plus its own, so this state is the previous one plus this step's change.\n" + n.MustString()), nil
}

type kust struct {
	resources    []string
	transformers []string
	carrier      *carrier
}

// carrier is a configMapGenerator that carries render files as data (see
// mesh.AnnotationRunningRender).
type carrier struct {
	name, annotation string
	files            []string
}

// The carriers of the target's gateway renders, which the canary steps
// name (RevisionGateway spec.render).
const (
	TargetGatewaysCarrier = "target-gateways"
	DefaultGatewayCarrier = "target-default-gateway"
)

type writer struct{ err error }

func (w *writer) file(path string, data []byte) {
	if w.err != nil {
		return
	}
	if w.err = os.MkdirAll(filepath.Dir(path), 0o755); w.err != nil {
		return
	}
	w.err = os.WriteFile(path, data, 0o644)
}

func (w *writer) files(dir string, fs []File) {
	for _, f := range fs {
		w.file(filepath.Join(dir, f.Name), f.Data)
	}
}

func (w *writer) kustomization(dir, comment string, k kust) {
	var b strings.Builder
	b.WriteString("# " + comment + "\n")
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if len(k.resources) > 0 {
		b.WriteString("resources:\n")
		for _, r := range k.resources {
			b.WriteString("- " + r + "\n")
		}
	}
	if c := k.carrier; c != nil {
		b.WriteString("configMapGenerator:\n- name: " + c.name + "\n  files:\n")
		for _, f := range c.files {
			b.WriteString("  - " + f + "\n")
		}
		b.WriteString("  options:\n    disableNameSuffixHash: true\n    annotations:\n      " + c.annotation + ": \"true\"\n      " + mesh.AnnotationLocalConfig + ": \"true\"\n")
	}
	if len(k.transformers) > 0 {
		b.WriteString("transformers:\n")
		for _, t := range k.transformers {
			b.WriteString("- " + t + "\n")
		}
	}
	w.file(filepath.Join(dir, "kustomization.yaml"), []byte(b.String()))
	w.file(filepath.Join(dir, Marker), []byte("written by revshift plan; a later plan into the same --out replaces this folder\n"))
}
