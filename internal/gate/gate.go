// Package gate is the gate of a planned step: NN-name/gate.yaml, what must
// hold on the cluster before the next step is applied. `revshift plan`
// writes one into every step directory (beside the kustomization, which
// does not list it: builds are unchanged); `revshift verify` reads it, and
// RS002 counts a Deployment the step creates at the replicas its gate
// waits for; the rehearsal harness waits for it.
//
//	# Wait for this before applying the next step: ...
//	apiVersion: revshift.dev/v1alpha1
//	kind: Gate
//	metadata:
//	  name: 03-canary-gateways
//	spec:
//	  rollouts:
//	  - kind: Deployment
//	    namespace: default
//	    name: custom-gw-1-31-0
//	    minReadyReplicas: 2
//	    reason: canary of Deployment default/custom-gw, which runs 2 replicas (HPA custom-gw minReplicas 2)
//
// A Deployment created without spec.replicas starts at 1 (the API default,
// k8s.io/kubernetes pkg/apis/apps/v1/defaults.go SetDefaults_Deployment);
// its HPA raises it to minReplicas only on its next sync (every 15 s by
// default, pkg/controller/podautoscaler/config/v1alpha1/defaults.go). A
// rollout's minReadyReplicas is the count the plan relies on, so a step
// whose watch is "the pods are Ready" is not moved on from at 1 of 2.
package gate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

const (
	// FileName is the gate's file in a step directory.
	FileName = "gate.yaml"
	// APIVersion and Kind identify a gate document.
	APIVersion = "revshift.dev/v1alpha1"
	Kind       = "Gate"
	// KindDeployment is the one kind a rollout names.
	KindDeployment = "Deployment"
	// Timeout is the --timeout of the kubectl lines (Commands).
	Timeout = "10m"
)

// header is the comment every written gate starts with.
const header = "# Wait for this before applying the next step: revshift rehearse does, and so can you (kubectl lines in README.md).\n"

// Gate is one step's gate.
type Gate struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`
}

// Metadata names the gate after its step directory (NN-name).
type Metadata struct {
	Name string `yaml:"name"`
}

// Spec is what the gate waits for.
type Spec struct {
	// Rollouts are the Deployments that must have MinReadyReplicas ready
	// replicas; empty when the step rolls nothing out.
	Rollouts []Rollout `yaml:"rollouts"`
}

// Rollout is one Deployment the gate waits for.
type Rollout struct {
	Kind      string `yaml:"kind"`
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	// MinReadyReplicas is the number of ready replicas the plan relies on
	// from this step on.
	MinReadyReplicas int64 `yaml:"minReadyReplicas"`
	// Reason says where the number comes from.
	Reason string `yaml:"reason,omitempty"`
}

// New is the gate of step directory step (NN-name).
func New(step string, rollouts []Rollout) *Gate {
	return &Gate{APIVersion: APIVersion, Kind: Kind, Metadata: Metadata{Name: step}, Spec: Spec{Rollouts: rollouts}}
}

// Rollout returns the rollout of kind namespace/name, if the gate (which
// may be nil) waits for it.
func (g *Gate) Rollout(kind, namespace, name string) (Rollout, bool) {
	if g == nil {
		return Rollout{}, false
	}
	for _, r := range g.Spec.Rollouts {
		if r.Kind == kind && r.Namespace == namespace && r.Name == name {
			return r, true
		}
	}
	return Rollout{}, false
}

// Commands are the kubectl lines that wait for the rollout: the rollout
// of its current pod template, then the ready replicas the plan relies on.
// `kubectl wait --for=jsonpath=...=N` compares for equality (kubectl
// pkg/cmd/wait/json.go, compareResults), so it also waits while an HPA has
// scaled the Deployment above N.
func (r Rollout) Commands() []string {
	res := strings.ToLower(r.Kind) + "/" + r.Name
	return []string{
		fmt.Sprintf("kubectl -n %s rollout status %s --timeout=%s", r.Namespace, res, Timeout),
		fmt.Sprintf("kubectl -n %s wait %s --for=jsonpath='{.status.readyReplicas}'=%d --timeout=%s", r.Namespace, res, r.MinReadyReplicas, Timeout),
	}
}

// Marshal renders the gate as written into a step directory.
func (g *Gate) Marshal() ([]byte, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	data, err := yaml.Marshal(g)
	if err != nil {
		return nil, err
	}
	return append([]byte(header), data...), nil
}

// Write writes the gate into stepDir/gate.yaml.
func Write(stepDir string, g *Gate) error {
	data, err := g.Marshal()
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(stepDir, FileName), err)
	}
	return os.WriteFile(filepath.Join(stepDir, FileName), data, 0o644)
}

// Read reads stepDir/gate.yaml. When the file is absent the error wraps
// fs.ErrNotExist (errors.Is(err, fs.ErrNotExist)): a plan written before
// gates existed has none. A gate whose metadata.name is not the step
// directory's name is rejected: it was copied from another step.
func Read(stepDir string) (*Gate, error) {
	path := filepath.Join(stepDir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if step := filepath.Base(filepath.Clean(stepDir)); g.Metadata.Name != step {
		return nil, fmt.Errorf("%s: metadata.name: %q is not the step's directory %q", path, g.Metadata.Name, step)
	}
	return g, nil
}

// Parse reads a gate document; file names it in errors. Unknown fields,
// another apiVersion or kind, a rollout of another kind than Deployment,
// a rollout without namespace or name, a negative minReadyReplicas, the
// same Deployment twice and more than one document are errors naming the
// file and the field.
func Parse(file string, data []byte) (*Gate, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty: expected a %s %s", file, APIVersion, Kind)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document: a gate is one %s", file, Kind)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if err := knownFields(root, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var g Gate
	if err := root.Decode(&g); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if err := g.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &g, nil
}

// fields are the keys of each mapping of a gate, by path ("[]" for the
// elements of a list).
var fields = map[string][]string{
	"":                {"apiVersion", "kind", "metadata", "spec"},
	"metadata":        {"name"},
	"spec":            {"rollouts"},
	"spec.rollouts[]": {"kind", "namespace", "name", "minReadyReplicas", "reason"},
}

// knownFields rejects a key that a gate does not have, naming its path.
func knownFields(n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.MappingNode:
		known, ok := fields[path]
		if !ok {
			return nil // a scalar field given as a map: Decode says so
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if !contains(known, k) {
				return fmt.Errorf("line %d: %s: unknown field (a %s has %s)", n.Content[i].Line, sub, Kind, strings.Join(knownPaths(path, known), ", "))
			}
			if err := knownFields(n.Content[i+1], sub); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := knownFields(c, path+"[]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func knownPaths(path string, keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		if path == "" {
			out[i] = k
		} else {
			out[i] = path + "." + k
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (g *Gate) validate() error {
	if g.APIVersion != APIVersion {
		return fmt.Errorf("apiVersion: %q, expected %s", g.APIVersion, APIVersion)
	}
	if g.Kind != Kind {
		return fmt.Errorf("kind: %q, expected %s", g.Kind, Kind)
	}
	if g.Metadata.Name == "" {
		return fmt.Errorf("metadata.name: missing (the step's directory, NN-name)")
	}
	seen := map[[2]string]int{}
	for i, r := range g.Spec.Rollouts {
		at := fmt.Sprintf("spec.rollouts[%d]", i)
		switch {
		case r.Kind != KindDeployment:
			return fmt.Errorf("%s.kind: %q is not a kind a gate waits for (%s)", at, r.Kind, KindDeployment)
		case r.Namespace == "":
			return fmt.Errorf("%s.namespace: missing", at)
		case r.Name == "":
			return fmt.Errorf("%s.name: missing", at)
		case r.MinReadyReplicas < 0:
			return fmt.Errorf("%s.minReadyReplicas: %d is negative", at, r.MinReadyReplicas)
		}
		k := [2]string{r.Namespace, r.Name}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("%s: Deployment %s/%s is already spec.rollouts[%d]", at, r.Namespace, r.Name, j)
		}
		seen[k] = i
	}
	return nil
}
