// Package krm is the thin layer between revshift's transforms and the KRM
// function protocol: it turns a Transform into a KRM SDK
// ResourceListProcessor, decodes typed functionConfigs strictly, and runs a
// function as a program that reports every error both as a result and on
// stderr (kustomize drops results when a function fails).
//
// A ResourceList laid out as kustomize and kpt write it is read entry by
// entry into lazily parsed items (mesh.Item): objects a function does not
// edit are never held as YAML trees and are written back exactly as they
// came, and the output is streamed to stdout.
package krm

import (
	"bytes"
	"fmt"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// APIVersion is the apiVersion of every revshift functionConfig.
const APIVersion = "revshift.dev/v1alpha1"

// Transform is a revshift function: it reads the items and the raw
// functionConfig (nil when none was given) and returns the new items. It
// reports decisions and problems through res; an error-severity result
// fails the function. A returned error is also a failure.
//
// Items are lazily parsed (mesh.Item): build the model with mesh.BuildItems
// and call Node only on the objects the function edits or must read beyond
// the model's facts; the others are written back byte for byte.
type Transform func(items []*mesh.Item, config *yaml.RNode, res *Results) ([]*mesh.Item, error)

// List is a parsed ResourceList whose items are lazily parsed.
type List struct {
	Items          []*mesh.Item
	FunctionConfig *yaml.RNode
	Results        fn.Results
}

// Proc runs a Transform. It is a KRM SDK ResourceListProcessor (for
// fn.AsMain and the SDK's own callers, which hand it parsed nodes); Run and
// MainIO use its lazy path, which parses items only as far as the model
// needs.
type Proc struct{ t Transform }

// Processor adapts a Transform to the KRM SDK and to Run. Items are handed
// over without copying; on failure the input items are returned untouched.
func Processor(t Transform) *Proc { return &Proc{t: t} }

// Process implements fn.ResourceListProcessor.
func (p *Proc) Process(rl *fn.ResourceList) (bool, error) {
	l := &List{Items: make([]*mesh.Item, len(rl.Items))}
	for i, it := range rl.Items {
		l.Items[i] = mesh.NewItem(it.MoveToResourceNode())
	}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	ok := p.Run(l)
	rl.Items = fn.MoveToKubeObjects(mesh.Nodes(l.Items))
	rl.Results = append(rl.Results, l.Results...)
	return ok, nil
}

// Run runs the transform on a parsed list, appending its results; it
// reports whether it succeeded.
func (p *Proc) Run(l *List) bool {
	res := &Results{}
	out, err := safeRun(p.t, l.Items, l.FunctionConfig, res)
	if err != nil {
		res.Errorf(nil, "%v", err)
	}
	if !res.Failed() {
		l.Items = out
	}
	l.Results = append(l.Results, res.Results...)
	return !res.Failed()
}

// safeRun turns a panic in a transform into an error: a bad input must never
// crash a pipeline without saying why.
func safeRun(t Transform, items []*mesh.Item, config *yaml.RNode, res *Results) (out []*mesh.Item, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (please report): %v", p)
		}
	}()
	return t(items, config, res)
}

// Run executes a processor on a serialized ResourceList, as the SDK's fn.Run
// does, but never returns an empty output: input that cannot be parsed gives
// a ResourceList that carries the error as a result.
func Run(p fn.ResourceListProcessor, input []byte) ([]byte, fn.Results, bool) {
	var out bytes.Buffer
	results, ok := RunTo(p, input, &out)
	return out.Bytes(), results, ok
}

// RunTo is Run writing the output to w as it goes: on a large input, the
// output is not held in memory on top of the items, and every item is
// dropped once written.
func RunTo(p fn.ResourceListProcessor, input []byte, w mesh.Writer) (fn.Results, bool) {
	fail := func(msg string) (fn.Results, bool) {
		rl := &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject()}
		rl.Results = append(rl.Results, &fn.Result{Severity: fn.Error, Message: msg})
		out, _ := rl.ToYAML()
		_, _ = w.Write(out)
		return rl.Results, false
	}
	l, err := ParseList(input)
	if err != nil {
		return fail("invalid input ResourceList: " + err.Error())
	}
	before := len(l.Results)
	var ok bool
	if proc, lazy := p.(*Proc); lazy {
		ok = proc.Run(l)
	} else {
		rl := l.toSDK()
		ok, err = p.Process(rl)
		if err != nil {
			rl.Results = append(rl.Results, fn.ErrorResult(err))
			ok = false
		}
		l = fromSDK(rl)
	}
	results := l.Results[before:]
	// Materialized items are encoded before anything is written, so that
	// an encoding error (never seen in practice) cannot leave half an
	// output behind; their trees become garbage as they are.
	for _, it := range l.Items {
		if err := it.Freeze(); err != nil {
			return fail("cannot serialize output: " + err.Error())
		}
	}
	if err := writeList(w, l, true); err != nil {
		results = append(results, &fn.Result{Severity: fn.Error, Message: "cannot write output: " + err.Error()})
		return results, false
	}
	return results, ok
}

func (l *List) toSDK() *fn.ResourceList {
	rl := &fn.ResourceList{FunctionConfig: fn.NewEmptyKubeObject(), Results: l.Results}
	rl.Items = fn.MoveToKubeObjects(mesh.Nodes(l.Items))
	if l.FunctionConfig != nil {
		rl.FunctionConfig = fn.MoveToKubeObject(l.FunctionConfig)
	}
	return rl
}

func fromSDK(rl *fn.ResourceList) *List {
	l := &List{Results: rl.Results}
	for _, it := range rl.Items {
		l.Items = append(l.Items, mesh.NewItem(it.MoveToResourceNode()))
	}
	rl.Items = nil
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	return l
}
