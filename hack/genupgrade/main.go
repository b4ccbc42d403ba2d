// Command genupgrade writes a generated upgrade (internal/meshgen) as render
// folders, for benchmarks and demos at scale:
//
//	go run ./hack/genupgrade -objects 600 -out /tmp/gen
//	bin/revshift plan --from /tmp/gen/running --to /tmp/gen/target --include /tmp/gen/namespaces --out /tmp/gen/plan
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/revshift/revshift/internal/meshgen"
)

func main() {
	objects := flag.Int("objects", 600, "approximate number of objects of the two renders and the namespaces together")
	rev := flag.String("revision", "1-6-14", "target revision")
	out := flag.String("out", "", "folder to write running/, target/ and namespaces/ into")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "genupgrade: -out is required")
		os.Exit(2)
	}
	u := meshgen.NewUpgrade(*objects, *rev)
	files := map[string]string{
		"running/control-plane.yaml":                 u.RunningControlPlane,
		"running/gateways.yaml":                      u.RunningGateways,
		"target/control-plane.rev-" + *rev + ".yaml": u.TargetControlPlane,
		"target/gateways.rev-" + *rev + ".yaml":      u.TargetGateways,
		"namespaces/namespaces.yaml":                 u.Namespaces,
	}
	for name, content := range files {
		p := filepath.Join(*out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
