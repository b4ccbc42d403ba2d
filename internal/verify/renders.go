package verify

import "github.com/revshift/revshift/internal/mesh"

// Renders are the renders a planned sequence was made from: a plan's
// inputs/ (the running renders, and the target's control plane and
// gateways under their rendered names). Rules that compare a state with
// what a render grants or holds use them; verify of plain step folders has
// none (nil), and those rules then judge the states alone.
type Renders struct {
	// Running is the --from renders (inputs/running).
	Running *mesh.Model
	// Target is the --to renders, control plane and gateways, as rendered.
	Target *mesh.Model
	// Include is the user's other objects (inputs/include), part of every
	// state; nil when there are none.
	Include *mesh.Model
}
