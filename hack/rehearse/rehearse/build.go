package rehearse

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/revshift/revshift/internal/cli"
	"github.com/revshift/revshift/internal/mesh"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/yaml"
)

// State is one step's desired state: what kustomize builds from its folder,
// as the API server receives it and as revshift's model reads it.
type State struct {
	Step    string
	Dir     string
	Objects []*unstructured.Unstructured
	Model   *mesh.Model
}

// buildStep runs `kustomize build --enable-alpha-plugins --enable-exec` on
// the step folder, as Argo CD's repo-server and `revshift plan --prerender`
// do. kustomize skips exec functions silently without --enable-exec, so the
// output is checked for revshift's Step having run: the step's function
// config never reaches the output.
func buildStep(kustomize, dir string) (*State, error) {
	cmd := exec.Command(kustomize, "build", "--enable-alpha-plugins", "--enable-exec", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kustomize build %s: %v\n%s", dir, err, errb.String())
	}
	return parseState(filepath.Base(dir), dir, out.Bytes())
}

func parseState(step, dir string, data []byte) (*State, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	st := &State{Step: step, Dir: dir}
	for _, n := range nodes {
		if n.GetKind() == "Step" && strings.HasPrefix(n.GetApiVersion(), "revshift.dev/") {
			return nil, fmt.Errorf("%s: the build still holds revshift's Step: kustomize ran without --enable-exec or revshift is not on PATH", step)
		}
		if v, _ := n.GetAnnotations()["config.kubernetes.io/local-config"]; v == "true" {
			continue
		}
		// Decoded as the API machinery decodes JSON: integers stay int64.
		j, err := yaml.YAMLToJSON([]byte(n.MustString()))
		if err != nil {
			return nil, fmt.Errorf("%s: %s/%s: %w", step, n.GetKind(), n.GetName(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("%s: %s/%s: %w", step, n.GetKind(), n.GetName(), err)
		}
		st.Objects = append(st.Objects, u)
	}
	m, err := mesh.Build(nodes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	st.Model = m
	return st, nil
}

// Steps lists the step folders of a plan (NN-name), in order, as verify
// reads them (cli.StepDirs).
func Steps(planDir string) ([]string, error) {
	names, err := cli.StepDirs(planDir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no step folders (NN-name); write them with `revshift plan --out %s`", planDir, planDir)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(planDir, n)
	}
	return out, nil
}

// keyOf identifies an object across states independently of its API
// version (revshift's mesh.ID), so that a step which moves an object to a
// newer version updates it.
func keyOf(u *unstructured.Unstructured) mesh.ID {
	gvk := u.GroupVersionKind()
	return mesh.ID{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
}
