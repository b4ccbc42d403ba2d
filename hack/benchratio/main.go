// Command benchratio reads `go test -bench` output on stdin and prints the
// ratios the hardening goals are stated in, against baselines measured in
// the same run:
//
//   - each function's time over BenchmarkKyamlBaseline on the same input
//     (goal: at most 1.5);
//   - each benchmark's time on gen-10k over gen-1k (goal: at most 11);
//   - kustomize build of a step over the same build with one no-op exec
//     function (BenchmarkKustomize/*; goal: at most 1.15).
//
// Times are medians over the -count runs. It exits 1 when a ratio is over
// its goal, so that `make bench` fails.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)
	rss  = regexp.MustCompile(`([\d.]+) rss/input`)
)

func main() {
	if !report(os.Stdin, os.Stdout) {
		os.Exit(1)
	}
}

// report reads benchmark output from r, writes the ratios to w, and returns
// false when one is over its goal.
func report(r io.Reader, w io.Writer) bool {
	times := map[string][]float64{}
	var peaks []float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		times[m[1]] = append(times[m[1]], v)
		if r := rss.FindStringSubmatch(sc.Text()); r != nil {
			x, _ := strconv.ParseFloat(r[1], 64)
			peaks = append(peaks, x)
		}
	}
	med := map[string]float64{}
	var names []string
	for k, v := range times {
		sort.Float64s(v)
		med[k] = v[len(v)/2]
		names = append(names, k)
	}
	sort.Strings(names)
	fail := false
	check := func(what string, ratio, goal float64) {
		status := "ok"
		if ratio > goal {
			status = "OVER GOAL"
			fail = true
		}
		fmt.Fprintf(w, "  %-60s %6.2fx  (goal <= %.2fx) %s\n", what, ratio, goal, status)
	}
	fmt.Fprintln(w, "function time / kyaml parse+serialize of the same ResourceList:")
	for _, n := range names {
		fnName, input, ok := strings.Cut(strings.TrimPrefix(n, "Benchmark"), "/")
		if !ok || fnName == "KyamlBaseline" || strings.HasPrefix(fnName, "Kustomize") || strings.HasPrefix(fnName, "Verify") {
			continue
		}
		if base, ok := med["BenchmarkKyamlBaseline/"+input]; ok {
			check(fnName+" on "+input, med[n]/base, 1.5)
		}
	}
	// The prune step's pipeline: BenchmarkFunctions/<input>/<i-Kind> and its
	// baseline <i-Kind>-KyamlBaseline on the very same input.
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, "BenchmarkFunctions/")
		if !ok || strings.HasSuffix(n, "-KyamlBaseline") {
			continue
		}
		if base, ok := med[n+"-KyamlBaseline"]; ok {
			check(rest+" (pipeline)", med[n]/base, 1.5)
		}
	}
	fmt.Fprintln(w, "scaling, time(10k objects) / time(1k objects):")
	for _, n := range names {
		if !strings.Contains(n, "/up-10k") {
			continue
		}
		if small, ok := med[strings.Replace(n, "/up-10k", "/up-1k", 1)]; ok {
			check(strings.TrimPrefix(n, "Benchmark"), med[n]/small, 11)
		}
	}
	for _, n := range names {
		if !strings.HasSuffix(n, "/gen-10k") {
			continue
		}
		if small, ok := med[strings.TrimSuffix(n, "/gen-10k")+"/gen-1k"]; ok {
			check(strings.TrimPrefix(strings.TrimSuffix(n, "/gen-10k"), "Benchmark"), med[n]/small, 11)
		}
	}
	fmt.Fprintln(w, "kustomize build of a step / the same build with one no-op exec function:")
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, "BenchmarkKustomize/")
		if !ok || !strings.HasSuffix(rest, "/step") {
			continue
		}
		input := strings.TrimSuffix(rest, "/step")
		if base, ok := med["BenchmarkKustomize/"+input+"/noop-exec"]; ok {
			check("step on "+input, med[n]/base, 1.15)
		}
		if plain, ok := med["BenchmarkKustomize/"+input+"/plain"]; ok {
			fmt.Fprintf(w, "  %-60s %6.2fx  (for reference)\n", "step on "+input+" / plain kustomize build", med[n]/plain)
		}
	}
	if b, ok := med["BenchmarkVerify/Seed/build-steps"]; ok {
		if v, ok := med["BenchmarkVerify/Seed/revshift-verify"]; ok {
			fmt.Fprintln(w, "revshift verify of the seed sequence / building its steps:")
			check("verify / build", v/b, 2)
		}
	}
	if len(peaks) > 0 {
		sort.Float64s(peaks)
		fmt.Fprintln(w, "peak memory of revshift fn on a ~50 MB input, as a multiple of the input size:")
		check("peak RSS / input size", peaks[len(peaks)/2], 10)
	}
	if fail {
		fmt.Fprintln(w, "some ratios are over their goals (benchmarks are noisy on a loaded machine: rerun before trusting one figure)")
	}
	return !fail
}
