// Command prune-legacy is a KRM function: it removes the old Istio revision
// and nothing else, as a delete list for kubectl or as the desired state for
// GitOps. See README.md.
package main

import (
	"github.com/revshift/revshift/functions/prune-legacy/prunelegacy"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("prune-legacy", krm.Processor(prunelegacy.Transform)) }
