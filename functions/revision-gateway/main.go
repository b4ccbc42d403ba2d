// Command revision-gateway is a KRM function: it turns the revisioned render
// of the running gateways into canary gateways that join the production
// Services (mode canary, step S3), and later retires the old gateways (mode
// shift, step S4). See README.md.
package main

import (
	"github.com/revshift/revshift/functions/revision-gateway/revisiongateway"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("revision-gateway", krm.Processor(revisiongateway.Transform)) }
