// Command verify-state is a KRM validator function: it runs revshift's state
// rules (internal/verify) on its input and emits an error result per
// violation, so that `kustomize build` and `kpt fn render` pipelines fail on
// a desired state that would drop traffic. See README.md.
package main

import (
	"github.com/revshift/revshift/functions/verify-state/verifystate"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("verify-state", krm.Processor(verifystate.Transform)) }
