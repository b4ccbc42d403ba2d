package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// RehearseBinary is the program `revshift rehearse` runs. It is built from
// the module hack/rehearse (`make rehearse`), which keeps the Kubernetes
// client libraries and envtest out of revshift's go.mod.
const RehearseBinary = "revshift-rehearse"

// Rehearse runs revshift-rehearse, found beside the revshift binary or on
// PATH, with the given arguments and the caller's standard streams; its exit
// status is rehearse's.
func Rehearse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	bin, err := findRehearse()
	if err != nil {
		fmt.Fprintln(stderr, "revshift rehearse:", err)
		return 2
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(stderr, "revshift rehearse:", err)
		return 1
	}
	return 0
}

// Wait runs `revshift-rehearse wait`: a step's gate.yaml checked against
// the cluster of the current kubeconfig context.
func Wait(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return Rehearse(append([]string{"wait"}, args...), stdin, stdout, stderr)
}

func findRehearse() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), RehearseBinary)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(RehearseBinary); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is neither beside revshift nor on PATH: build it with `make rehearse` (it lives in the module hack/rehearse, out of revshift's go.mod)", RehearseBinary)
}
