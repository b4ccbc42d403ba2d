// Command copy-configmap is a KRM function: it copies each revision's mesh
// ConfigMap (istio-<rev>) into the namespaces of the gateways that mount it.
// See README.md.
package main

import (
	"github.com/revshift/revshift/functions/copy-configmap/copyconfigmap"
	"github.com/revshift/revshift/internal/krm"
)

func main() { krm.Main("copy-configmap", krm.Processor(copyconfigmap.Transform)) }
