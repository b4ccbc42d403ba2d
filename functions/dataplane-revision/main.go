// Command dataplane-revision is a KRM function: it relabels injected
// namespaces for the new revision and restarts their workloads onto it.
// See README.md.
package main

import (
	"github.com/revshift/revshift/functions/dataplane-revision/dataplanerevision"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("dataplane-revision", krm.Processor(dataplanerevision.Transform)) }
