// Command revision-tag is a KRM function: it moves revision tags to a
// revision offline, as `istioctl tag set <tag> --revision <rev> --overwrite`
// does to a cluster. See README.md.
package main

import (
	"github.com/revshift/revshift/functions/revision-tag/revisiontag"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("revision-tag", krm.Processor(revisiontag.Transform)) }
