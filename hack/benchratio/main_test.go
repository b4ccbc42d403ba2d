package main

import (
	"strings"
	"testing"
)

// A ratio over its goal makes report return false (and so main exit 1); one
// within it, true.
func TestReportFailsOverGoal(t *testing.T) {
	for _, c := range []struct {
		name  string
		fnNs  string
		ok    bool
		label string
	}{
		{"within", "140", true, " ok\n"},
		{"over", "160", false, " OVER GOAL\n"},
	} {
		in := "BenchmarkKyamlBaseline/gen-1k-8 \t 10\t 100 ns/op\n" +
			"BenchmarkSetNamespace/gen-1k-8 \t 10\t " + c.fnNs + " ns/op\n"
		var out strings.Builder
		if got := report(strings.NewReader(in), &out); got != c.ok {
			t.Errorf("%s: report = %v, want %v\n%s", c.name, got, c.ok, out.String())
		}
		if !strings.Contains(out.String(), "SetNamespace on gen-1k") || !strings.Contains(out.String(), c.label) {
			t.Errorf("%s: output lacks the ratio line ending %q:\n%s", c.name, c.label, out.String())
		}
	}
}
