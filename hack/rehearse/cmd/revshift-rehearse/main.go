// Command revshift-rehearse applies every step of a revshift plan to a
// disposable local Kubernetes control plane and lets Kubernetes judge it.
// `revshift rehearse` runs it; it lives in this module of its own so that
// the Kubernetes libraries stay out of revshift's go.mod.
//
//	revshift-rehearse [--assets DIR] [--kubernetes 1.21|1.24|1.34] [--applier flux|kubectl|argocd] PLAN_DIR
//	revshift-rehearse wait [--kubeconfig FILE] [--context NAME] [--timeout 10m] STEP_DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/revshift/revshift/hack/rehearse/rehearse"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "wait" {
		return wait(args[1:])
	}
	fs := newFlagSet("rehearse", "[--assets DIR] [--kubernetes 1.21|1.24|1.34] [--applier flux|kubectl|argocd] PLAN_DIR")
	assets := fs.String("assets", "", "folder holding etcd, kube-apiserver and kube-controller-manager (default $KUBEBUILDER_ASSETS, else bin/k8s/<version>-<os>-<arch> beside this binary)")
	kube := fs.String("kubernetes", "", "Kubernetes minor version to rehearse on, 1.21, 1.24 or 1.34 (default: the newest that serves every API the plan uses)")
	applier := fs.String("applier", "flux", "how each step is applied: flux (staged server-side apply and prune), kubectl (all at once, then delete) or argocd (sync waves)")
	kustomize := fs.String("kustomize", "", "kustomize binary (default: beside this binary, else on PATH)")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long a step may take to roll out and reach its gate")
	readyAfter := fs.Duration("ready-after", 2*time.Second, "how long a simulated pod takes to become Ready")
	logDir := fs.String("logs", "", "folder for the control-plane logs (default: a temporary folder, kept)")
	if !parseOneArg(fs, args) {
		return 2
	}
	how, err := rehearse.ParseApplier(*applier)
	if err != nil {
		fmt.Fprintln(os.Stderr, "revshift rehearse:", err)
		return 2
	}
	exe, _ := os.Executable()
	bin := filepath.Dir(exe)
	// kustomize runs revshift's functions as `revshift fn`: the revshift
	// beside this binary comes first.
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if *kustomize == "" {
		if *kustomize, err = exec.LookPath("kustomize"); err != nil {
			fmt.Fprintln(os.Stderr, "revshift rehearse: no kustomize beside this binary or on PATH (make tools installs it into bin/); or pass --kustomize")
			return 2
		}
	}
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := rehearse.Run(ctx, fs.Arg(0), rehearse.Options{Assets: *assets, Kubernetes: *kube, Applier: how, Kustomize: *kustomize,
		Timeout: *timeout, ReadyAfter: *readyAfter, LogDir: *logDir, Progress: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "revshift rehearse:", err)
		return 1
	}
	if err := rep.Write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "revshift rehearse:", err)
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

// wait checks a step's gate against a real cluster (the current kubeconfig
// context), as rehearse does between steps: `revshift wait STEP_DIR`.
func wait(args []string) int {
	fs := newFlagSet("wait", "[--kubeconfig FILE] [--context NAME] [--timeout 10m] STEP_DIR")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: the current one)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for the gate")
	if !parseOneArg(fs, args) {
		return 2
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *kubeContext}).ClientConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "revshift wait:", err)
		return 2
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "revshift wait:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := rehearse.Wait(ctx, cs, fs.Arg(0), *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "revshift wait:", err)
		return 1
	}
	fmt.Printf("%s: the gate holds\n", fs.Arg(0))
	return 0
}

// newFlagSet is a subcommand's flags, with its usage line.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: revshift %s %s\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseOneArg parses the flags, which must leave one argument (the folder).
func parseOneArg(fs *flag.FlagSet, args []string) bool {
	if err := fs.Parse(args); err != nil {
		return false
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return false
	}
	return true
}
