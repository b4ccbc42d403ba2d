// Package registry lists every revshift function, for the revshift binary
// (`revshift fn`) and for tests that run a whole step in-process.
package registry

import (
	"sync"

	"github.com/revshift/revshift/functions/canary-control-plane/canarycontrolplane"
	"github.com/revshift/revshift/functions/copy-configmap/copyconfigmap"
	"github.com/revshift/revshift/functions/dataplane-revision/dataplanerevision"
	"github.com/revshift/revshift/functions/prune-legacy/prunelegacy"
	"github.com/revshift/revshift/functions/revision-gateway/revisiongateway"
	"github.com/revshift/revshift/functions/revision-tag/revisiontag"
	"github.com/revshift/revshift/functions/verify-state/verifystate"
	"github.com/revshift/revshift/functions/webhook-fix/webhookfix"
	"github.com/revshift/revshift/internal/step"
)

// All are the functions, in the order of the upgrade's steps.
func All() []step.Function {
	return []step.Function{
		{Kind: canarycontrolplane.Kind, Transform: canarycontrolplane.Transform},
		{Kind: copyconfigmap.Kind, Transform: copyconfigmap.Transform},
		{Kind: revisiongateway.Kind, Transform: revisiongateway.Transform},
		{Kind: revisiontag.Kind, Transform: revisiontag.Transform},
		{Kind: dataplanerevision.Kind, Transform: dataplanerevision.Transform},
		{Kind: webhookfix.Kind, Transform: webhookfix.Transform},
		{Kind: prunelegacy.Kind, Transform: prunelegacy.Transform},
		{Kind: verifystate.Kind, Transform: verifystate.Transform},
	}
}

var once sync.Once

// RegisterAll registers every function with the step runner, once.
func RegisterAll() { once.Do(func() { step.Register(All()...) }) }
