package plan

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/revshift/revshift/internal/gate"
	"github.com/revshift/revshift/internal/verify"
)

// WriteReadme writes README.md into the output: per step what it changes,
// what to watch before moving on, how to roll back, and the Mermaid graph of
// the state's traffic path; then the verifier's table.
func (p *Plan) WriteReadme(states []verify.State, report *verify.Report) error {
	var b bytes.Buffer
	walk := "upgrade"
	if p.Opts.Rollback {
		walk = "rollback"
	}
	fmt.Fprintf(&b, "# Istio %s to revision %s\n\n", walk, p.Revision)
	fmt.Fprintf(&b, "Written by `revshift plan` from `%s` (running) and `%s` (target, revision `%s`). ", p.Opts.From, p.Opts.To, p.Revision)
	b.WriteString("Each `NN-name/` folder is a kustomization that builds to the complete desired state at that step:\n\n")
	example := p.Dirs()[len(p.Dirs())-1]
	if len(p.Dirs()) > 1 {
		example = p.Dirs()[1]
	}
	fmt.Fprintf(&b, "```sh\nkustomize build --enable-alpha-plugins --enable-exec %s   # revshift on PATH\nrevshift verify .   # every state and step checked\nrevshift rehearse . # every step applied to a disposable local Kubernetes control plane (make rehearse k8s)\n```\n\n", example)
	b.WriteString("Apply the steps in order, one commit (or one `kubectl apply`) at a time, and move on only when what the step says to watch holds. ")
	b.WriteString("For Argo CD, point the Application at the step folder and enable `--enable-alpha-plugins --enable-exec` in `kustomize.buildOptions`, with `revshift` on the repo-server's PATH. For Flux, pre-render each step (`revshift plan --prerender`) and point the Kustomization at `prerendered/NN-name`.\n\n")
	if p.Opts.Rollback {
		b.WriteString("This is the **rollback** walk: the forward steps in reverse order. It satisfies the same invariants.\n\n")
	}
	b.WriteString("| step | what it changes |\n|---|---|\n")
	for i, s := range p.Order() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s |\n", p.Dirs()[i], anchor(p.Dirs()[i]), s.Title)
	}
	b.WriteString("\n")
	for i, s := range p.Order() {
		name := p.Dirs()[i]
		fmt.Fprintf(&b, "## %s\n\n", name)
		fmt.Fprintf(&b, "**%s.** %s\n\n", upper(s.Title), s.Changes)
		fmt.Fprintf(&b, "- **Watch before moving on:** %s\n", s.Watch)
		if i < len(states) && states[i].Gate != nil {
			writeGate(&b, name, states[i].Gate)
		}
		fmt.Fprintf(&b, "- **Roll back:** %s\n\n", s.Rollback)
		if i < len(states) && states[i].Model != nil {
			b.WriteString("Traffic path in this state:\n\n```mermaid\n")
			if err := verify.WriteMermaid(&b, states[i].Model); err != nil {
				return err
			}
			b.WriteString("```\n\n")
		}
	}
	if report != nil {
		b.WriteString("## Verification\n\n`revshift verify .` on these steps:\n\n```\n")
		if err := report.WriteTable(&b, false); err != nil {
			return err
		}
		b.WriteString("```\n")
	}
	return os.WriteFile(filepath.Join(p.Opts.Out, "README.md"), b.Bytes(), 0o644)
}

// writeGate adds a step's gate to its watch: the kubectl lines that wait
// for it, as a code block inside the list item.
func writeGate(b *bytes.Buffer, step string, g *gate.Gate) {
	if len(g.Spec.Rollouts) == 0 {
		fmt.Fprintf(b, "  Gate (`%s/%s`): nothing rolls out in this step.\n", step, gate.FileName)
		return
	}
	fmt.Fprintf(b, "  Gate (`%s/%s`): wait until each Deployment has rolled out and has the ready replicas the next steps rely on:\n\n  ```sh\n", step, gate.FileName)
	for _, r := range g.Spec.Rollouts {
		fmt.Fprintf(b, "  # %s\n", r.Reason)
		for _, c := range r.Commands() {
			fmt.Fprintf(b, "  %s\n", c)
		}
	}
	b.WriteString("  ```\n\n")
}

func anchor(s string) string { return strings.ToLower(s) }

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
