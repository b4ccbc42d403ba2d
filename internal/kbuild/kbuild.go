// Package kbuild builds kustomizations in-process with kustomize's own
// library (sigs.k8s.io/kustomize/api/krusty), with exec KRM functions
// enabled, exactly as `kustomize build --enable-alpha-plugins --enable-exec`
// does. revshift verify uses it to build every step of a plan.
package kbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

var pathMu sync.Mutex

// Build builds the kustomization in dir. Exec functions are looked up on
// PATH, with extraPath folders (e.g. revshift's own bin/) searched first.
func Build(dir string, extraPath ...string) ([]*yaml.RNode, error) {
	rm, err := run(dir, extraPath)
	if err != nil {
		return nil, err
	}
	return rm.ToRNodeSlice(), nil
}

// BuildYAML builds like Build and returns what the kustomize CLI prints.
func BuildYAML(dir string, extraPath ...string) ([]byte, error) {
	rm, err := run(dir, extraPath)
	if err != nil {
		return nil, err
	}
	return rm.AsYaml()
}

func run(dir string, extraPath []string) (resmap.ResMap, error) {
	if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err != nil {
		return nil, fmt.Errorf("%s: no kustomization.yaml", dir)
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // the kustomize CLI default
	opts.PluginConfig = types.EnabledPluginConfig(types.BploUseStaticallyLinked)
	opts.PluginConfig.FnpLoadingOptions.EnableExec = true
	k := krusty.MakeKustomizer(opts)

	// kustomize's exec runner resolves bare names through PATH; it reads
	// the process environment, so the change is serialized.
	pathMu.Lock()
	defer pathMu.Unlock()
	if len(extraPath) > 0 {
		old := os.Getenv("PATH")
		_ = os.Setenv("PATH", strings.Join(append(append([]string(nil), extraPath...), old), string(os.PathListSeparator)))
		defer func() { _ = os.Setenv("PATH", old) }()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rm, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return rm, nil
}
