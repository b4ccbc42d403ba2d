package rehearse

import (
	"errors"
	"io/fs"

	"github.com/revshift/revshift/internal/gate"
)

// readGate reads the step's gate.yaml, written by revshift plan: the
// rollouts to wait for before the next step, as an operator would. A step
// without one has no gate beyond its own rollouts.
func readGate(dir string) ([]gate.Rollout, error) {
	g, err := gate.Read(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return g.Spec.Rollouts, nil
}
