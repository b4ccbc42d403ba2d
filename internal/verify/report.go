package verify

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/revshift/revshift/internal/mesh"
)

// maxObjects is how many objects a table cell lists before "(+N more)".
const maxObjects = 4

// WriteTable prints the per-step table (step, rule, status, objects), then
// every finding with what to do, then a one-line verdict. Without verbose,
// a step whose rules all hold is one row; with verbose, every rule of every
// step is a row.
func (r *Report) WriteTable(w io.Writer, verbose bool) error {
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	p := &printer{}
	p.println(tw, "STEP\tRULE\tNAME\tSTATUS\tOBJECTS")
	for _, s := range r.Steps {
		applicable, shown := 0, 0
		for _, rs := range s.Rules {
			if rs.Status == StatusNA {
				continue
			}
			applicable++
			if !verbose && rs.Status == StatusOK {
				continue
			}
			shown++
			p.printf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, rs.Rule.ID, rs.Rule.Name, rs.Status, objectsCell(rs.Objects))
		}
		if shown == 0 {
			p.printf(tw, "%s\t*\tall %d rules hold\tok\t\n", s.Name, applicable)
		}
	}
	if err := p.flush(tw); err != nil {
		return err
	}
	if err := r.writeRewrites(bw); err != nil {
		return err
	}
	fs := r.Findings()
	if len(fs) > 0 {
		p.println(bw)
		p.println(bw, "Findings:")
	}
	for _, f := range fs {
		step := f.Step
		if f.From != "" {
			step = f.From + " -> " + f.Step
		}
		rule, _ := Lookup(f.Rule)
		pre := ""
		if f.Preexisting {
			pre = " [already in the running state]"
		}
		p.printf(bw, "- [%s] %s %s (%s)%s: %s\n", step, f.Rule, rule.Name, f.Severity, pre, f.Message)
		if f.Fix != "" {
			p.printf(bw, "    fix: %s\n", f.Fix)
		}
	}
	p.println(bw)
	p.println(bw, r.Verdict())
	return p.flush(bw)
}

// writeRewrites lists, for the state RS022 judged, the planned rewrites
// found in it: name, object count, the first objects.
func (r *Report) writeRewrites(w io.Writer) error {
	p := &printer{}
	for _, s := range r.Steps {
		if len(s.Rewrites) == 0 {
			continue
		}
		p.printf(w, "\nPlanned rewrites in %s (RS022: how the last state differs from its render, on purpose):\n", s.Name)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, rw := range s.Rewrites {
			p.printf(tw, "  %s\t%d\t%s\n", rw.Name, len(rw.Objects), objectsCell(rw.Objects))
		}
		if err := p.flush(tw); err != nil {
			return err
		}
	}
	return nil
}

// Verdict is the one-line outcome, e.g. "FAIL: 3 errors, 1 warning in 2 of
// 5 states" or "OK: 5 states, 4 steps, every rule holds".
func (r *Report) Verdict() string {
	errs, warns := r.Count(Error), r.Count(Warning)
	bad := 0
	for _, s := range r.Steps {
		if len(s.Findings) > 0 {
			bad++
		}
	}
	switch {
	case errs > 0:
		return fmt.Sprintf("FAIL: %s, %s in %d of %d states", plural(errs, "error"), plural(warns, "warning"), bad, len(r.Steps))
	case warns > 0:
		return fmt.Sprintf("OK with %s in %d of %d states", plural(warns, "warning"), bad, len(r.Steps))
	}
	return fmt.Sprintf("OK: %d states, %d steps, every rule holds", len(r.Steps), len(r.Steps)-1)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func objectsCell(xs []mesh.ID) string {
	if len(xs) <= maxObjects {
		return idList(xs)
	}
	return idList(xs[:maxObjects]) + fmt.Sprintf(" (+%d more)", len(xs)-maxObjects)
}

// WriteRules prints the catalogue as a table (ID, kind, name, doc).
func WriteRules(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := &printer{}
	p.println(tw, "ID\tKIND\tNAME\tINVARIANT\tDOC")
	for _, r := range Rules() {
		inv := "-"
		if r.Invariant > 0 {
			inv = fmt.Sprint(r.Invariant)
		}
		p.printf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Name, inv, strings.TrimSpace(r.Doc))
	}
	return p.flush(tw)
}

// printer writes to the writers of one report and keeps the first error:
// what is written after it is dropped.
type printer struct{ err error }

func (p *printer) printf(w io.Writer, format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(w, format, args...)
	}
}

func (p *printer) println(w io.Writer, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(w, args...)
	}
}

// flush flushes w (a bufio or tabwriter Writer) and returns the first
// error of the writes and the flush.
func (p *printer) flush(w interface{ Flush() error }) error {
	if err := w.Flush(); p.err == nil {
		p.err = err
	}
	return p.err
}
