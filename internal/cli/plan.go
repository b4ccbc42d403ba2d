package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/revshift/revshift/internal/kbuild"
	"github.com/revshift/revshift/internal/plan"
	"github.com/revshift/revshift/internal/verify"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Plan is `revshift plan`.
func Plan(args []string, stdout, stderr io.Writer) int {
	o, f, code := planFlags(args, stderr)
	if code != 0 {
		return code
	}
	p, err := plan.New(o)
	if err == nil {
		err = p.Write()
	}
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %d steps of revision %s into %s\n", len(p.Steps), p.Revision, o.Out)
	for _, n := range p.Notes {
		fmt.Fprintln(stderr, "revshift plan: note:", n)
	}
	if f.noVerify {
		return 0
	}
	report, err := buildAndVerify(p, f.prerender)
	if err == nil {
		err = report.WriteTable(stdout, false)
	}
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	if !report.OK() {
		return 1
	}
	return 0
}

// planSwitches are plan's flags that are not plan.Options.
type planSwitches struct{ prerender, noVerify bool }

// planFlags parses plan's flags; code is non-zero (2) when they are wrong.
func planFlags(args []string, stderr io.Writer) (plan.Options, planSwitches, int) {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o plan.Options
	var f planSwitches
	var include, tags multi
	fs.StringVar(&o.From, "from", "", "folder of YAML renders of the running control plane and gateways (required)")
	fs.StringVar(&o.To, "to", "", "folder of YAML renders of the target, rendered with --revision (required)")
	fs.StringVar(&o.Out, "out", "", "folder to write the step directories into (required)")
	fs.StringVar(&o.Revision, "revision", "", "the target revision (default: inferred from --to)")
	fs.StringVar(&o.ExecDir, "exec-dir", "", "pin the folder of the revshift binary in the written steps (default: the bare name, looked up on PATH)")
	fs.BoolVar(&o.Rollback, "rollback", false, "write the reverse walk (from the pruned state back to the running one)")
	fs.Var(&tags, "tag", "a revision tag to move to the revision in a step of its own, after the gateways on it run as canaries; its namespaces restart in the data-plane step; repeatable")
	fs.Var(&include, "include", "folder of the user's other objects (Namespaces, workloads) that every state holds; repeatable")
	fs.BoolVar(&f.prerender, "prerender", false, "also write prerendered/NN-name/ with each step's build output, for Flux and other tools without exec functions")
	fs.BoolVar(&f.noVerify, "no-verify", false, "write the steps without building and verifying them (and so without README.md and the gates, NN-name/gate.yaml, which come from the built states)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: revshift plan --from DIR --to DIR --out DIR [flags]\n\nWrites the upgrade as step directories OUT/NN-name, builds each, verifies the sequence and\nwrites OUT/NN-name/gate.yaml (what to wait for before the next step) and OUT/README.md (per step:\nwhat changes, what to watch, how to roll back, traffic graph).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, f, 2
	}
	o.Include, o.Tags = include, tags
	if o.From == "" || o.To == "" || o.Out == "" || fs.NArg() > 0 {
		fs.Usage()
		return o, f, 2
	}
	return o, f, 0
}

// buildAndVerify builds the written steps, writes the gates (from the
// built states: verify counts what they wait for, RS002), verifies the
// sequence against the renders, and writes README.md and, with
// prerender, prerendered/.
func buildAndVerify(p *plan.Plan, prerender bool) (*verify.Report, error) {
	execPath := ExecPath(p.Opts.ExecDir)
	states, err := BuildStates(p.Opts.Out, execPath)
	if err != nil {
		return nil, err
	}
	if err := p.WriteGates(states); err != nil {
		return nil, err
	}
	renders, err := ReadRenders(p.Opts.Out)
	if err != nil {
		return nil, err
	}
	report, err := verify.CheckPlan(states, verify.DefaultOrdering, renders)
	if err != nil {
		return nil, err
	}
	if err := p.WriteReadme(states, report); err != nil {
		return nil, err
	}
	if prerender {
		if err := writePrerendered(p, execPath); err != nil {
			return nil, err
		}
	}
	return report, nil
}

// writePrerendered writes prerendered/NN-name/ (--prerender): each step's
// build output as plain YAML, for Flux and other tools without exec
// functions.
func writePrerendered(p *plan.Plan, execPath []string) error {
	for _, d := range p.Dirs() {
		data, err := kbuild.BuildYAML(filepath.Join(p.Opts.Out, d), execPath...)
		if err != nil {
			return err
		}
		dir := filepath.Join(p.Opts.Out, "prerendered", d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		marker := []byte("written by revshift plan; a later plan into the same --out replaces this folder\n")
		if err := os.WriteFile(filepath.Join(p.Opts.Out, "prerendered", plan.Marker), marker, 0o644); err != nil {
			return err
		}
		k := "# " + d + ", pre-rendered by revshift plan --prerender: plain YAML, no functions to run.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- manifests.yaml\n"
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "manifests.yaml"), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
