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
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o plan.Options
	var include, tags multi
	fs.StringVar(&o.From, "from", "", "folder of YAML renders of the running control plane and gateways (required)")
	fs.StringVar(&o.To, "to", "", "folder of YAML renders of the target, rendered with --revision (required)")
	fs.StringVar(&o.Out, "out", "", "folder to write the step directories into (required)")
	fs.StringVar(&o.Revision, "revision", "", "the target revision (default: inferred from --to)")
	fs.StringVar(&o.ExecDir, "exec-dir", "", "pin the folder of the revshift binary in the written steps (default: the bare name, looked up on PATH)")
	fs.BoolVar(&o.Rollback, "rollback", false, "write the reverse walk (from the pruned state back to the running one)")
	fs.Var(&tags, "tag", "a revision tag to move to the revision in a step of its own, after the gateways on it run as canaries; its namespaces restart in the data-plane step; repeatable")
	fs.Var(&include, "include", "folder of the user's other objects (Namespaces, workloads) that every state holds; repeatable")
	prerender := fs.Bool("prerender", false, "also write prerendered/NN-name/ with each step's build output, for Flux and other tools without exec functions")
	noVerify := fs.Bool("no-verify", false, "write the steps without building and verifying them (and so without README.md and the gates, NN-name/gate.yaml, which come from the built states)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: revshift plan --from DIR --to DIR --out DIR [flags]\n\nWrites the upgrade as step directories OUT/NN-name, builds each, verifies the sequence and\nwrites OUT/NN-name/gate.yaml (what to wait for before the next step) and OUT/README.md (per step:\nwhat changes, what to watch, how to roll back, traffic graph).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.Include = include
	o.Tags = tags
	if o.From == "" || o.To == "" || o.Out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	p, err := plan.New(o)
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	if err := p.Write(); err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %d steps of revision %s into %s\n", len(p.Steps), p.Revision, o.Out)
	for _, n := range p.Notes {
		fmt.Fprintln(stderr, "revshift plan: note:", n)
	}
	if *noVerify {
		return 0
	}
	execPath := ExecPath(o.ExecDir)
	states, err := BuildStates(o.Out, execPath)
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	// The gates come from the built states; verify counts what they wait
	// for (RS002).
	if err := p.WriteGates(states); err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	renders, err := ReadRenders(o.Out)
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	report, err := verify.CheckPlan(states, verify.DefaultOrdering, renders)
	if err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	if err := p.WriteReadme(states, report); err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	if *prerender {
		if err := writePrerendered(p, execPath); err != nil {
			fmt.Fprintln(stderr, "revshift plan:", err)
			return 1
		}
	}
	if err := report.WriteTable(stdout, false); err != nil {
		fmt.Fprintln(stderr, "revshift plan:", err)
		return 1
	}
	if !report.OK() {
		return 1
	}
	return 0
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
