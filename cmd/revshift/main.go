// Command revshift plans and verifies zero-downtime Istio revision upgrades,
// and runs every revshift function in-process (`revshift fn`), so a step
// needs one exec call. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/revshift/revshift/internal/cli"
	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/registry"
	"github.com/revshift/revshift/internal/step"
)

func init() { registry.RegisterAll() }

const usage = `revshift: zero-downtime Istio revision upgrades, offline.

Usage:
  revshift fn            run as a KRM function (ResourceList on stdin); the
                         functionConfig is a Step or any revshift function's config
  revshift plan --from DIR --to DIR --out DIR [--revision REV] [--rollback]
                         write the upgrade as verified step directories
  revshift verify DIR    build every step directory DIR/NN-name with kustomize and
                         check every state and step against the upgrade invariants
  revshift verify -rules print the rule catalogue
  revshift rehearse [--assets DIR] [--kubernetes 1.21|1.24|1.34] [--applier flux|kubectl|argocd] DIR
                         apply every step of DIR to a disposable local control plane
                         (etcd, kube-apiserver, kube-controller-manager) and let
                         Kubernetes judge it; runs revshift-rehearse (make rehearse)
  revshift wait [--kubeconfig FILE] [--context NAME] [--timeout 10m] DIR/NN-name
                         wait until the step's gate.yaml holds on your cluster
  revshift functions     list the function kinds this binary runs
`

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "fn":
		return krm.MainIO("revshift", krm.Processor(step.Transform), os.Stdin, os.Stdout, os.Stderr)
	case "plan":
		return cli.Plan(args[1:], os.Stdout, os.Stderr)
	case "verify":
		return cli.Verify(args[1:], os.Stdout, os.Stderr)
	case "rehearse":
		return cli.Rehearse(args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "wait":
		return cli.Wait(args[1:], os.Stdin, os.Stdout, os.Stderr)
	case "functions":
		for _, k := range step.Kinds() {
			fmt.Println(k)
		}
		return 0
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "revshift: unknown command %q\n\n%s", args[0], usage)
	return 2
}
