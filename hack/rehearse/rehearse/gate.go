package rehearse

// GateRollout is one rollout a step's gate waits for.
type GateRollout struct {
	Kind, Namespace, Name string
	MinReadyReplicas      int32
	Reason                string
}

// readGate reads the step's gate.yaml, written by revshift plan; a step
// without one has no gate beyond its own rollouts.
func readGate(dir string) ([]GateRollout, error) { return nil, nil }
