// Package prunelegacy is step S7 of the upgrade (see
// docs/upgrade-model.md): remove the old revision and nothing else.
//
// The input holds the old state and the desired state (everything else: the
// new revision, the canary gateways, the user's other objects). The old state
// is the running render carried as the data of a local-config ConfigMap
// (mesh.AnnotationRunningRender, written by a kustomize configMapGenerator),
// the objects whose file path matches spec.oldPaths (kpt), and the objects
// marked revshift.dev/state: old (internal to a Step: canary-control-plane
// marks the running objects it re-emits). Every old object is classified as
// delete or keep, with a reason reported as a result. Never deleted:
// CustomResourceDefinitions, Namespaces, production Services (invariants 12
// and 14), anything present in the desired state by group/kind/namespace/
// name, and anything the desired state still references (invariant 13;
// mesh.PruneReferences). An old sidecar injector is deleted only when no
// labelled namespace still depends on it alone.
//
// Modes: delete-list outputs exactly the objects to delete, in a safe order
// for `kubectl delete -f`; desired-state outputs the input minus them, with
// GitOps prune protection on every kept old object.
package prunelegacy

import (
	"fmt"
	"path"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "PruneLegacy"

// Modes.
const (
	ModeDeleteList   = "delete-list"
	ModeDesiredState = "desired-state"
)

// Markers of old objects.
const (
	// AnnotationState marks an object of the old state (value StateOld).
	AnnotationState = mesh.AnnotationState
	StateOld        = "old"
)

// The retired way of carrying the old state: mode mark-old wrapped every old
// object into an OldObject (apiVersion krm.APIVersion) under spec.object.
// Both are refused with the running-render carrier as the fix, so that an
// old kustomization fails loudly instead of its carriers being read as
// desired objects.
const (
	removedModeMarkOld = "mark-old"
	removedCarrierKind = "OldObject"
)

// carrierHint is the fix for the retired carrier: the running-render
// ConfigMap, as a kustomize configMapGenerator writes it.
var carrierHint = "carry the old render as the data of a local-config ConfigMap annotated " + mesh.AnnotationRunningRender + " instead; with kustomize, replace the old resources and the mark-old transformer by:\n" +
	"  configMapGenerator:\n" +
	"  - name: running-render\n" +
	"    files: [control-plane.yaml, gateways.yaml]  # the old render files\n" +
	"    options:\n" +
	"      disableNameSuffixHash: true\n" +
	"      annotations:\n" +
	"        " + mesh.AnnotationRunningRender + ": \"true\"\n" +
	"        " + mesh.AnnotationLocalConfig + ": \"true\""

// Spec is the functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: PruneLegacy
//	metadata: {name: prune}
//	spec:
//	  mode: delete-list        # or desired-state
//	  oldPaths: [old/]         # also old: objects whose path annotation matches
//	  pruneProtection:         # desired-state: annotations on kept old objects
//	    argocd: true
//	    flux: true
type Spec struct {
	Mode            string     `yaml:"mode,omitempty"`
	OldPaths        []string   `yaml:"oldPaths,omitempty"`
	PruneProtection Protection `yaml:"pruneProtection,omitempty"`
}

// Protection selects the GitOps prune-protection annotations (both on by
// default).
type Protection struct {
	ArgoCD *bool `yaml:"argocd,omitempty"`
	Flux   *bool `yaml:"flux,omitempty"`
}

func (p Protection) argocd() bool { return p.ArgoCD == nil || *p.ArgoCD }
func (p Protection) flux() bool   { return p.Flux == nil || *p.Flux }

// Validate checks spec.mode and spec.oldPaths (krm.DecodeConfig calls it).
func (s Spec) Validate() error {
	switch s.Mode {
	case ModeDeleteList, ModeDesiredState:
	case removedModeMarkOld:
		return fmt.Errorf("functionConfig spec.mode: %q was removed, and with it the OldObject carrier: %s", s.Mode, carrierHint)
	default:
		return fmt.Errorf("functionConfig spec.mode: %q is not one of %s, %s", s.Mode, ModeDeleteList, ModeDesiredState)
	}
	for i, p := range s.OldPaths {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("functionConfig spec.oldPaths[%d]: %q is not a path pattern (path.Match syntax, or a directory ending in /)", i, p)
		}
	}
	return nil
}

// Transform classifies the old objects and writes the output of the mode.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	spec := Spec{Mode: ModeDeleteList}
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	its, err := readItems(items, spec.OldPaths)
	if err != nil {
		return nil, err
	}
	return prune(its, spec, res)
}

// prune classifies the old objects and writes the mode's output.
func prune(its []*item, spec Spec, res *krm.Results) ([]*mesh.Item, error) {
	var oldNodes, newNodes []*mesh.Item
	var olds []*item
	for _, it := range its {
		if it.old {
			oldNodes = append(oldNodes, it.node)
			olds = append(olds, it)
		} else {
			newNodes = append(newNodes, it.node)
		}
	}
	mOld, err := mesh.BuildItems(oldNodes)
	if err != nil {
		return nil, fmt.Errorf("old state: %w", err)
	}
	mNew, err := mesh.BuildItems(newNodes)
	if err != nil {
		return nil, fmt.Errorf("desired state: %w", err)
	}
	// Report with the real input positions.
	for i, o := range mOld.Objects {
		o.Index = olds[i].obj.Index
	}
	if len(olds) == 0 {
		res.Warnf(nil, "no old objects in the input: nothing to prune. Carry the old render as the data of a local-config ConfigMap annotated %s: \"true\" (a kustomize configMapGenerator), or list its files in spec.oldPaths (kpt)", mesh.AnnotationRunningRender)
	}
	c := classify(mOld, mNew, res)

	var out []*mesh.Item
	switch spec.Mode {
	case ModeDeleteList:
		if out, err = deleteList(mOld, c); err != nil {
			return nil, err
		}
	case ModeDesiredState:
		protect := map[mesh.ID]bool{}
		for _, o := range mOld.Objects {
			if d := c.dec[o.ID]; d.keep {
				protect[mesh.CanonicalID(o.ID)] = true
			}
		}
		for _, it := range its {
			if it.old {
				d := c.dec[it.obj.ID]
				if !d.keep || d.shared {
					continue
				}
				if err := it.node.RemoveAnnotation(AnnotationState); err != nil {
					return nil, fmt.Errorf("%s: %v", it.obj.ID, err)
				}
			}
			if protect[mesh.CanonicalID(it.obj.ID)] {
				if err := addProtection(it.node, spec.PruneProtection); err != nil {
					return nil, fmt.Errorf("%s: metadata.annotations: %v", it.obj.ID, err)
				}
			}
			out = append(out, it.node)
		}
	}
	kept := 0
	for _, o := range mOld.Objects {
		if c.dec[o.ID].keep {
			kept++
		}
	}
	res.Infof(nil, "%d old objects: %d to delete, %d kept (mode %s)", len(mOld.Objects), len(mOld.Objects)-kept, kept, spec.Mode)
	return out, nil
}
