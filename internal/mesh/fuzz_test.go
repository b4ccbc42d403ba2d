package mesh

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// FuzzBuild: any YAML stream either fails to parse, fails to build with an
// error, or builds a model whose every question can be asked without a
// panic, twice with the same answers; whose selections equal scans through
// labels.SelectorFromSet (Services, Gateway resources) and each PDB's
// selector; and whose references are found again from their targets.
func FuzzBuild(f *testing.F) {
	f.Add(gatewayFixture)
	for _, dir := range []string{"../../functions/copy-configmap/copyconfigmap/testdata", "../../functions/revision-gateway/revisiongateway/testdata"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name(), "input.yaml")); err == nil {
				f.Add(string(data))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		nodes, err := (&kio.ByteReader{Reader: strings.NewReader(in), OmitReaderAnnotations: true}).Read()
		if err != nil {
			return
		}
		m, err := Build(nodes)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		ask := func() string {
			var b strings.Builder
			for _, s := range m.ProductionServices() {
				b.WriteString(s.ID.String())
				for _, w := range s.Selected() {
					b.WriteString(" " + w.ID.String())
				}
			}
			for _, g := range m.Gateways {
				rev, src := m.GatewayRevision(g)
				b.WriteString(rev + src)
				for _, p := range g.PDBs() {
					b.WriteString(p.ID.String())
				}
				for _, ig := range g.IstioGateways() {
					b.WriteString(ig.ID.String())
				}
				_ = m.HPAFor(g.Workload)
				_ = m.ConfigMapMissing(g)
			}
			for _, h := range m.Webhooks {
				s, ws := m.WebhookTarget(h)
				if s != nil {
					b.WriteString(s.ID.String())
				}
				b.WriteString(" ")
				for _, w := range ws {
					b.WriteString(w.ID.String())
				}
			}
			for _, o := range m.Objects {
				for _, r := range m.References(o) {
					b.WriteString(r.To.String())
				}
				_ = m.ReferencesTo(o.ID)
			}
			b.WriteString(strings.Join(m.Revisions(), ","))
			return b.String()
		}
		if a, b := ask(), ask(); a != b {
			t.Fatalf("the same model answered differently:\n%s\n%s", a, b)
		}
		checkSelectionsAgainstScans(t, m)
		checkReferencesResolve(t, m)
	})
}

// checkSelectionsAgainstScans compares each selection, in both
// directions, with a scan of every candidate through its selector.
func checkSelectionsAgainstScans(t *testing.T, m *Model) {
	t.Helper()
	svcScan := func(s *Service, w *Workload) bool {
		return w.ID.Namespace == s.ID.Namespace && len(s.Selector) > 0 &&
			labels.SelectorFromSet(s.Selector).Matches(labels.Set(w.PodLabels))
	}
	pdbScan := func(p *PDB, w *Workload) bool {
		return p.ID.Namespace == w.ID.Namespace && p.Selector != nil && p.Selector.Matches(labels.Set(w.PodLabels))
	}
	for _, s := range m.Services {
		var want []*Workload
		for _, w := range m.Workloads {
			if svcScan(s, w) {
				want = append(want, w)
			}
		}
		if got := selNames(s.Selected()); !slices.Equal(got, selNames(want)) {
			t.Fatalf("Service %s selects %v, a scan %v", s.ID, got, selNames(want))
		}
	}
	for _, p := range m.PDBs {
		var want []*Workload
		for _, w := range m.Workloads {
			if pdbScan(p, w) {
				want = append(want, w)
			}
		}
		if got := selNames(p.Selected()); !slices.Equal(got, selNames(want)) {
			t.Fatalf("PDB %s selects %v, a scan %v", p.ID, got, selNames(want))
		}
	}
	for _, w := range m.Workloads {
		var want, got []string
		for _, s := range m.Services {
			if svcScan(s, w) {
				want = append(want, s.ID.String())
			}
		}
		for _, s := range w.Services() {
			got = append(got, s.ID.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Services selecting %s: %v, a scan %v", w.ID, got, want)
		}
		want, got = nil, nil
		for _, p := range m.PDBs {
			if pdbScan(p, w) {
				want = append(want, p.ID.String())
			}
		}
		for _, p := range w.PDBs() {
			got = append(got, p.ID.String())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("PDBs selecting %s: %v, a scan %v", w.ID, got, want)
		}
		if got, want := gwNames(w.IstioGateways()), gatewaysSelectingScan(m, w); !slices.Equal(got, want) {
			t.Fatalf("Gateway resources selecting %s: %v, a scan %v", w.ID, got, want)
		}
	}
}

// checkReferencesResolve: every reference an object makes is from that
// object, and is among the references to its target.
func checkReferencesResolve(t *testing.T, m *Model) {
	for _, o := range m.Objects {
		for _, r := range m.References(o) {
			if r.From != o.ID {
				t.Fatalf("a reference of %s is from %s", o.ID, r.From)
			}
			if !slices.Contains(m.ReferencesTo(r.To), r) {
				t.Fatalf("%s -> %s (%s) is not among the references to %s", r.From, r.To, r.Why, r.To)
			}
		}
	}
}
