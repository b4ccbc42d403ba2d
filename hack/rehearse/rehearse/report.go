package rehearse

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Rule is one check of the rehearsal.
type Rule struct{ ID, Name, Proves string }

// The rehearsal's checks, in the order a step runs them.
var (
	RuleAccepted  = Rule{"RH001", "api-accepted", "the API server accepts every object of the step: schema, immutable fields, admission"}
	RuleServed    = Rule{"RH002", "api-served", "this Kubernetes serves every API version the step uses"}
	RuleRBAC      = Rule{"RH003", "authorizer", "the authorizer allows each running istiod and gateway every permission its render grants its ServiceAccount"}
	RuleEndpoints = Rule{"RH004", "ready-endpoints", "every production gateway Service keeps at least the running state's ready endpoints at every change, until the step has rolled out"}
	RuleWebhook   = Rule{"RH005", "webhook-endpoints", "every webhook's Service has a ready endpoint of a running istiod"}
	RuleEviction  = Rule{"RH006", "eviction", "one pod of each running gateway can be evicted (no PDB blocks it, none overlaps another)"}
	RuleGate      = Rule{"RH007", "gate", "the step's Deployments roll out and its gate holds within the timeout"}
)

// Rules is the catalogue, for the report and the README.
var Rules = []Rule{RuleAccepted, RuleServed, RuleRBAC, RuleEndpoints, RuleWebhook, RuleEviction, RuleGate}

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one check that did not hold at one step.
type Finding struct {
	Step     string
	Rule     Rule
	Severity Severity
	Object   string
	Message  string
}

// StepReport is what happened at one step.
type StepReport struct {
	Step            string
	Objects, Pruned int
	Apply, Settle   time.Duration
	SARs, Webhooks  int
	Evicted         []string
	Endpoints       []reading
	NotRun          bool
}

// Report is the whole rehearsal.
type Report struct {
	Kubernetes string
	Applier    Applier
	Steps      []*StepReport
	Findings   []Finding
	Elapsed    time.Duration
	Baseline   map[string]int
}

// Failed reports whether any finding is an error.
func (r *Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Severity != Warning {
			return true
		}
	}
	return false
}

// Write prints the report: a table per step, the ready endpoints per
// production Service and step, then the findings.
func (r *Report) Write(w io.Writer) error {
	fmt.Fprintf(w, "Rehearsed on Kubernetes %s (etcd, kube-apiserver, kube-controller-manager; simulated kubelet), applier %s, in %s.\n", r.Kubernetes, r.Applier, r.Elapsed.Round(time.Second))
	fmt.Fprintln(w, "Admission webhooks are stored but not called, and no istiod or Envoy runs: traffic is judged by ready endpoints, permissions by the authorizer.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tOBJECTS\tPRUNED\tAPPLY\tSETTLED\tSARs\tWEBHOOKS\tEVICTED\tRESULT")
	for _, s := range r.Steps {
		if s.NotRun {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\tnot run\n", s.Step)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%s\n", s.Step, s.Objects, s.Pruned, s.Apply.Round(100*time.Millisecond),
			s.Settle.Round(100*time.Millisecond), s.SARs, s.Webhooks, len(s.Evicted), r.result(s.Step))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var svcs []string
	for s := range r.Baseline {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	if len(svcs) > 0 {
		fmt.Fprintln(w, "\nLowest ready endpoints of each production Service while each step applied and rolled out (running state's count in brackets; ! below it):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		head := []string{"SERVICE"}
		for _, s := range r.Steps {
			head = append(head, s.Step[:2])
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, svc := range svcs {
			row := []string{fmt.Sprintf("%s [%d]", svc, r.Baseline[svc])}
			for _, s := range r.Steps {
				cell := "-"
				for _, e := range s.Endpoints {
					if e.Service == svc {
						cell = fmt.Sprint(e.Min)
						if e.Min < r.Baseline[svc] {
							cell += "!"
						}
					}
				}
				row = append(row, cell)
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	for _, f := range r.Findings {
		obj := ""
		if f.Object != "" {
			obj = " " + f.Object + ":"
		}
		fmt.Fprintf(w, "%s %s %s %s%s %s\n", strings.ToUpper(string(f.Severity)), f.Step, f.Rule.ID, f.Rule.Name, obj, f.Message)
	}
	if r.Failed() {
		_, err := fmt.Fprintf(w, "FAIL: %d finding(s)\n", len(r.Findings))
		return err
	}
	if len(r.Findings) > 0 {
		_, err := fmt.Fprintf(w, "OK with %d warning(s): %d steps rehearsed\n", len(r.Findings), len(r.Steps))
		return err
	}
	_, err := fmt.Fprintf(w, "OK: %d steps rehearsed, every check holds\n", len(r.Steps))
	return err
}

func (r *Report) result(step string) string {
	var ids []string
	warnings := 0
	for _, f := range r.Findings {
		switch {
		case f.Step != step:
		case f.Severity == Warning:
			warnings++
		default:
			ids = append(ids, f.Rule.ID)
		}
	}
	switch {
	case len(ids) > 0:
		return strings.Join(ids, " ")
	case warnings > 0:
		return fmt.Sprintf("ok, %d warning(s)", warnings)
	}
	return "ok"
}
