package rehearse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Assets finds the control-plane binaries the way controller-runtime's
// envtest does (sigs.k8s.io/controller-runtime/pkg/internal/testing/process
// BinPathFinder): the --assets folder, else $KUBEBUILDER_ASSETS, else
// bin/k8s/<version>-<os>-<arch> beside the running binary (where `make k8s`
// and `make k8s-1.24` install them). The folder must hold etcd,
// kube-apiserver and kube-controller-manager; setup-envtest's folders have
// no kube-controller-manager, so rehearse says which is missing.
func Assets(flag, version string) (string, error) {
	dir := flag
	if dir == "" {
		dir = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(filepath.Dir(exe), "k8s", version+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	}
	var missing []string
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("assets %s: no %s (build them with `make k8s` for 1.34 or `make k8s-1.24`, or pass --assets DIR)", dir, strings.Join(missing, ", "))
	}
	return dir, nil
}

// ControlPlane is etcd, kube-apiserver (started by envtest) and
// kube-controller-manager, on loopback, torn down by Stop.
type ControlPlane struct {
	Config  *rest.Config
	env     *envtest.Environment
	kcm     *exec.Cmd
	kcmDone chan error
	dir     string
	Version string
}

// StartControlPlane starts the control plane from the assets folder. Logs of
// the processes go to files under logDir.
func StartControlPlane(ctx context.Context, assets, logDir string) (*ControlPlane, error) {
	dir, err := os.MkdirTemp("", "revshift-rehearse-")
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{dir: dir}
	apiLog, err := os.Create(filepath.Join(logDir, "kube-apiserver.log"))
	if err != nil {
		return nil, err
	}
	etcdLog, err := os.Create(filepath.Join(logDir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets, ControlPlaneStartTimeout: 90 * time.Second, ControlPlaneStopTimeout: 30 * time.Second}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: etcdLog, Err: etcdLog}
	api := env.ControlPlane.GetAPIServer()
	api.Out, api.Err = apiLog, apiLog
	args := api.Configure()
	// envtest disables the ServiceAccount admission plugin because it runs no
	// controller-manager; rehearse runs one, so a pod whose ServiceAccount a
	// step deleted is refused as in a cluster. Admission webhooks are stored
	// but never called: no istiod runs to answer them.
	args.Set("disable-admission-plugins", "MutatingAdmissionWebhook,ValidatingAdmissionWebhook")
	args.Set("authorization-mode", "Node,RBAC")
	cp.env = env
	cfg, err := env.Start()
	if err != nil {
		cp.Stop()
		return nil, fmt.Errorf("start etcd and kube-apiserver from %s: %w (log: %s)", assets, err, apiLog.Name())
	}
	cp.Config = cfg
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "revshift-rehearse-controller-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		cp.Stop()
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "controller-manager.kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	kcmLog, err := os.Create(filepath.Join(logDir, "kube-controller-manager.log"))
	if err != nil {
		cp.Stop()
		return nil, err
	}
	cp.kcm = exec.Command(filepath.Join(assets, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--leader-elect=false",
		// Accepted by 1.24 and 1.34: no serving, so parallel rehearsals do
		// not clash on :10257.
		"--secure-port=0",
		"--controllers=*",
		// No cloud, no node IPAM: the simulated kubelet gives pods their IPs.
		"--allocate-node-cidrs=false",
		"--v=2")
	cp.kcm.Stdout, cp.kcm.Stderr = kcmLog, kcmLog
	if err := cp.kcm.Start(); err != nil {
		cp.Stop()
		return nil, fmt.Errorf("start kube-controller-manager: %w", err)
	}
	cp.kcmDone = make(chan error, 1)
	go func() { cp.kcmDone <- cp.kcm.Wait() }()
	return cp, nil
}

// Alive reports an error when kube-controller-manager has exited.
func (cp *ControlPlane) Alive() error {
	select {
	case err := <-cp.kcmDone:
		cp.kcmDone <- err
		return fmt.Errorf("kube-controller-manager exited: %v", err)
	default:
		return nil
	}
}

// Stop tears everything down and removes the temporary folders.
func (cp *ControlPlane) Stop() {
	if cp.kcm != nil && cp.kcm.Process != nil {
		_ = cp.kcm.Process.Kill()
		<-cp.kcmDone //nolint:errcheck // Wait after the Kill: "signal: killed"
		cp.kcm = nil
	}
	if cp.env != nil {
		_ = cp.env.Stop()
	}
	_ = os.RemoveAll(cp.dir)
}

var errTimeout = errors.New("timed out")
