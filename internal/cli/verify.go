// Package cli holds revshift's commands (plan, verify), kept out of
// package main so that they can be tested in-process.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/mesh"
	"github.com/revshift/revshift/internal/verify"
)

// stepDir is a step directory name: NN-name.
var stepDir = regexp.MustCompile(`^\d+-[A-Za-z0-9._-]+$`)

// StepDirs lists the step directories of a plan, in order.
func StepDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && stepDir.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// BuildStates builds every step directory of dir with kustomize (in
// process, exec functions enabled) and models each state, with the step's
// gate (NN-name/gate.yaml) when it has one: RS002 counts what it waits for.
// A gate that does not read is an error.
func BuildStates(dir string, execPath []string) ([]verify.State, error) {
	steps, err := StepDirs(dir)
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("%s: no step directories (NN-name/ holding a kustomization.yaml)", dir)
	}
	var states []verify.State
	for _, s := range steps {
		nodes, err := kbuild.Build(filepath.Join(dir, s), execPath...)
		if err != nil {
			return nil, fmt.Errorf("step %s does not build: %w", s, err)
		}
		m, err := mesh.Build(nodes)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", s, err)
		}
		// A rollback walk ends at the running state: what that state
		// already had is not the walk's fault.
		original := len(states) > 0 && strings.HasSuffix(s, "-running")
		g, err := gate.Read(filepath.Join(dir, s))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("step %s: %w", s, err)
		}
		states = append(states, verify.State{Name: s, Model: m, Original: original, Gate: g})
	}
	return states, nil
}

// Verify is `revshift verify DIR`.
func Verify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	applier := fs.String("applier", "argocd", "how the steps are applied: argocd (sync waves and kpt depends-on are honoured) or kubectl/flux (each step at once)")
	graph := fs.String("graph", "", "print the Mermaid traffic-path graph of this step (e.g. 03-canary-gateways) and exit")
	verbose := fs.Bool("v", false, "list every rule of every step, not only the failing ones")
	rules := fs.Bool("rules", false, "print the rule catalogue and exit")
	execDir := fs.String("exec-dir", "", "folder searched first for the function binaries (default: the folder of this revshift binary)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: revshift verify [flags] DIR\n\nBuilds every step directory DIR/NN-name with kustomize and checks every state and every\nstep against the upgrade invariants; a folder written by revshift plan (with inputs/) is also\nchecked against the renders it was planned from (RS022). Exits 0 only when every rule holds.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *rules {
		if err := verify.WriteRules(stdout); err != nil {
			fmt.Fprintln(stderr, "revshift verify:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	ord, ok := applierOrdering(*applier)
	if !ok {
		fmt.Fprintf(stderr, "revshift verify: -applier %q: expected argocd, kpt, kubectl or flux\n", *applier)
		return 2
	}
	dir := fs.Arg(0)
	states, err := BuildStates(dir, ExecPath(*execDir))
	if err != nil {
		fmt.Fprintln(stderr, "revshift verify:", err)
		return 1
	}
	if *graph != "" {
		return writeGraph(states, *graph, dir, stdout, stderr)
	}
	noteUngated(states, stderr)
	renders, err := ReadRenders(dir)
	if err != nil {
		fmt.Fprintln(stderr, "revshift verify:", err)
		return 1
	}
	report, err := verify.CheckPlan(states, ord, renders)
	if err != nil {
		fmt.Fprintln(stderr, "revshift verify:", err)
		return 1
	}
	if err := report.WriteTable(stdout, *verbose); err != nil {
		fmt.Fprintln(stderr, "revshift verify:", err)
		return 1
	}
	if !report.OK() {
		return 1
	}
	return 0
}

// ExecPath is where step builds look for function binaries first: dir when
// given, else the folder of the running executable (bin/ after make build).
func ExecPath(dir string) []string {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err == nil {
			return []string{abs}
		}
		return []string{dir}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return []string{filepath.Dir(exe)}
}

// applierOrdering is the ordering an applier honours: argocd and kpt
// order a step's objects (sync waves, depends-on), kubectl and flux apply
// it at once.
func applierOrdering(applier string) (verify.Ordering, bool) {
	switch applier {
	case "argocd", "kpt":
		return verify.DefaultOrdering, true
	case "kubectl", "flux":
		return verify.NoOrdering, true
	}
	return verify.Ordering{}, false
}

// writeGraph is -graph: the Mermaid traffic-path graph of one step.
func writeGraph(states []verify.State, step, dir string, stdout, stderr io.Writer) int {
	for _, s := range states {
		if s.Name == step {
			if err := verify.WriteMermaid(stdout, s.Model); err != nil {
				fmt.Fprintln(stderr, "revshift verify:", err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "revshift verify: -graph %q: no such step in %s\n", step, dir)
	return 2
}

// noteUngated notes the steps after S0 without a gate: RS002 then counts
// what they create at spec.replicas.
func noteUngated(states []verify.State, stderr io.Writer) {
	var ungated []string
	for _, s := range states[1:] {
		if s.Gate == nil {
			ungated = append(ungated, s.Name)
		}
	}
	if len(ungated) > 0 {
		fmt.Fprintf(stderr, "revshift verify: note: no %s in %s (a plan written before gates, or by hand): RS002 counts a Deployment such a step creates at its spec.replicas, not its HPA's minReplicas\n", gate.FileName, strings.Join(ungated, ", "))
	}
}
