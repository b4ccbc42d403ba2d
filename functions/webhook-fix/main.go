// Command webhook-fix is a KRM function: it makes every admission webhook
// of the target state reach a running istiod of the new revision before the
// old revision is removed (step S6). See README.md.
package main

import (
	"github.com/revshift/revshift/functions/webhook-fix/webhookfix"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("webhook-fix", krm.Processor(webhookfix.Transform)) }
