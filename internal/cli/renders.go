package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/plan"
	"github.com/revshift/revshift/internal/verify"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// ReadRenders reads the renders a folder written by `revshift plan` was
// planned from (DIR/inputs): inputs/running into Running, inputs/target and
// inputs/target-gateways (when present) into Target, inputs/include (when
// present) into Include, each file read by plan.ReadDir. It returns nil,
// and no error, for a folder without inputs/ (plain step folders).
func ReadRenders(dir string) (*verify.Renders, error) {
	in := filepath.Join(dir, "inputs")
	if st, err := os.Stat(in); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a folder", in)
	}
	running, err := readModel(in, true, "running")
	if err != nil {
		return nil, err
	}
	target, err := readModel(in, true, "target", "target-gateways")
	if err != nil {
		return nil, err
	}
	include, err := readModel(in, false, "include")
	if err != nil {
		return nil, err
	}
	return &verify.Renders{Running: running, Target: target, Include: include}, nil
}

// readModel models the renders of the given sub-folders of in together;
// only the first must exist when required. Nil when none exists.
func readModel(in string, required bool, sub ...string) (*mesh.Model, error) {
	var nodes []*yaml.RNode
	var read []string
	for i, s := range sub {
		d := filepath.Join(in, s)
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) && (i > 0 || !required) {
			continue
		}
		fs, err := plan.ReadDir(d)
		if err != nil {
			return nil, fmt.Errorf("renders of the plan: %w", err)
		}
		for _, f := range fs {
			nodes = append(nodes, f.Nodes...)
		}
		read = append(read, d)
	}
	if len(read) == 0 {
		return nil, nil
	}
	m, err := mesh.Build(nodes)
	if err != nil {
		return nil, fmt.Errorf("renders of the plan (%v): %w", read, err)
	}
	return m, nil
}
