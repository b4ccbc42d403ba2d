package mesh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// FuzzBuild: any YAML stream either fails to parse, fails to build with an
// error, or builds a model whose every question can be asked without a
// panic, twice with the same answers.
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
				for _, w := range m.Selected(s) {
					b.WriteString(" " + w.ID.String())
				}
			}
			for _, g := range m.Gateways {
				rev, src := m.GatewayRevision(g)
				b.WriteString(rev + src)
				for _, p := range m.PDBsSelecting(g.Workload) {
					b.WriteString(p.ID.String())
				}
				for _, ig := range m.IstioGatewaysSelecting(g.Workload) {
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
	})
}
