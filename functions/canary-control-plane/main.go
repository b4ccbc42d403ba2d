// Command canary-control-plane is a KRM function: given the running control
// plane's render and a new revision's render, it emits the new revision's
// objects so that applying them leaves what the running revision runs
// unchanged (step S1). See README.md.
package main

import (
	"github.com/revshift/revshift/functions/canary-control-plane/canarycontrolplane"
	"github.com/revshift/revshift/internal/krm"
)

func main() {
	krm.Main("canary-control-plane", krm.Processor(canarycontrolplane.Transform))
}
