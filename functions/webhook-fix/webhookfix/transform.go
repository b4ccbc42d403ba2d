// Package webhookfix is step S6 of the upgrade (see
// docs/upgrade-model.md, invariant 10): before the old istiod is
// removed, every admission webhook of the target state must call a Service
// that selects a running istiod of the new revision. Otherwise, with
// failurePolicy Fail every write of an Istio resource is rejected
// (istio/istio#28880) or pods cannot be created; with Ignore validation or
// injection is lost silently.
//
// Its items are the target state (the new revision's render). It
//   - emits (or re-points) Service <ns>/istiod onto the new revision's
//     istiod pods, with the ports of istiod-<rev>, when a webhook calls
//     Service istiod (the legacy validator istiod-<ns> of 1.5 to 1.10, and
//     anything else that calls the default Service): Istio's documented
//     workaround of that era;
//   - optionally points those webhooks' clientConfig at istiod-<rev>;
//   - legacy era: makes the new istiod patch the validator (its
//     VALIDATION_WEBHOOK_CONFIG_NAME must resolve to the validator's name);
//   - modern era (per-revision validators, 1.11+): emits what
//     `istioctl tag set default --revision <rev>` creates, offline: the
//     MutatingWebhookConfiguration istio-revision-tag-default and the
//     ValidatingWebhookConfiguration istiod-default-validator;
//   - optionally annotates webhook configurations for Flux server-side
//     apply (IfNotPresent), since istiod rewrites caBundle and
//     failurePolicy at run time.
package webhookfix

import (
	"fmt"
	"strings"

	"github.com/revshift/revshift/internal/krm"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kind is the functionConfig kind.
const Kind = "WebhookFix"

// Era values.
const (
	EraAuto   = "auto"
	EraLegacy = "legacy"
	EraModern = "modern"
)

const (
	// LabelAliasOf marks the istiod alias Service with the Service it
	// copies.
	LabelAliasOf = "revshift.dev/alias-of"
	// AnnotationFluxSSA is Flux's per-object server-side apply policy.
	AnnotationFluxSSA = "kustomize.toolkit.fluxcd.io/ssa"
	envValidationName = "VALIDATION_WEBHOOK_CONFIG_NAME"
)

// Spec is the optional functionConfig:
//
//	apiVersion: revshift.dev/v1alpha1
//	kind: WebhookFix
//	metadata: {name: webhooks}
//	spec:
//	  revision: 1-6-14        # default: the one non-default revision whose istiod is in the input
//	  era: auto               # auto | legacy | modern (auto: modern when the revision has its own validator)
//	  repointWebhooks: false  # also point webhooks that call Service istiod at istiod-<rev>
//	  fluxIfNotPresent: false # annotate webhook configurations kustomize.toolkit.fluxcd.io/ssa: IfNotPresent
type Spec struct {
	Revision         string `yaml:"revision,omitempty"`
	Era              string `yaml:"era,omitempty"`
	RepointWebhooks  bool   `yaml:"repointWebhooks,omitempty"`
	FluxIfNotPresent bool   `yaml:"fluxIfNotPresent,omitempty"`
}

// Validate checks spec.era and spec.revision (krm.DecodeConfig calls it).
func (s Spec) Validate() error {
	switch s.Era {
	case "", EraAuto, EraLegacy, EraModern:
	default:
		return fmt.Errorf("functionConfig spec.era: %q is not one of auto, legacy, modern", s.Era)
	}
	return krm.CheckRevision("revision", s.Revision)
}

// Transform fixes the webhooks. See the package doc.
func Transform(items []*mesh.Item, config *yaml.RNode, res *krm.Results) ([]*mesh.Item, error) {
	spec := Spec{Era: EraAuto}
	if err := krm.DecodeConfig(config, Kind, &spec); err != nil {
		return nil, err
	}
	if spec.Era == "" {
		spec.Era = EraAuto
	}
	m, err := mesh.BuildItems(items)
	if err != nil {
		return nil, err
	}
	rev, err := m.TargetRevision(spec.Revision)
	if err != nil {
		return nil, err
	}
	istiods := m.IstiodsOf(rev)
	ns := istiods[0].ID.Namespace
	revSvc := m.Service(ns, mesh.IstiodServiceName(rev))
	if revSvc == nil || !selectsRev(m, revSvc, rev) {
		//nolint:staticcheck // ST1005: the message starts with the kind, as every result does
		return nil, fmt.Errorf("Service %s/%s is not in the input or does not select the pods of istiod %s: the webhooks need it", ns, mesh.IstiodServiceName(rev), istiods[0].ID)
	}
	era := spec.Era
	if era == EraAuto {
		v, err := m.RevisionValidator(rev)
		if err != nil {
			return nil, err
		}
		era = EraLegacy
		if v != nil {
			era = EraModern
		}
	}
	f := &fixer{m: m, res: res, rev: rev, ns: ns, revSvc: revSvc, spec: spec, out: items, replaced: map[mesh.ID]bool{}}
	if era == EraModern {
		for _, id := range tagIDs(ns) {
			f.replaced[id] = true
		}
	}
	if err := f.webhooks(); err != nil {
		return nil, err
	}
	if era == EraLegacy {
		if err := f.legacyPatcher(); err != nil {
			return nil, err
		}
	} else if err := f.tags(); err != nil {
		return nil, err
	}
	if spec.FluxIfNotPresent {
		for _, it := range f.out {
			o, err := mesh.IdentifyItem(0, it)
			if err != nil || !mesh.IsWebhookConfig(o.ID) {
				continue
			}
			n := it.Node()
			if n.GetAnnotations()[AnnotationFluxSSA] == "IfNotPresent" {
				continue
			}
			if err := n.PipeE(yaml.SetAnnotation(AnnotationFluxSSA, "IfNotPresent")); err != nil {
				return nil, err
			}
			res.Infof(o, "annotated %s %s: IfNotPresent: Flux creates it but never overwrites the caBundle and failurePolicy that istiod patches at run time (nor later changes of the render: remove the annotation for the next upgrade)", o.ID, AnnotationFluxSSA)
		}
	}
	return f.out, nil
}

func selectsRev(m *mesh.Model, s *mesh.Service, rev string) bool {
	for _, i := range s.Istiods() {
		if i.Revision == rev {
			return true
		}
	}
	return false
}

type fixer struct {
	m      *mesh.Model
	res    *krm.Results
	rev    string
	ns     string
	revSvc *mesh.Service
	spec   Spec
	out    []*mesh.Item
	// replaced are the webhook configurations the function regenerates.
	replaced map[mesh.ID]bool
}

// webhooks checks every webhook and gives the ones that call Service istiod
// the alias (and, optionally, a new clientConfig).
func (f *fixer) webhooks() error {
	alias := map[string][]string{} // namespace -> webhooks calling <ns>/istiod
	var aliasNS []string
	for _, h := range f.m.Webhooks {
		if h.Service == nil {
			f.res.Infof(h.Config, "webhook %s of %s calls URL %s (an istiod outside the cluster): not checked", h.Name, h.Config.ID, h.URL)
			continue
		}
		if f.m.WebhookReaches(h, f.rev) {
			continue
		}
		svc := h.Service.Namespace + "/" + h.Service.Name
		if h.Service.Name == mesh.IstiodServiceName(mesh.DefaultRevision) && h.Service.Namespace == f.ns {
			// The default-revision Service: whatever it selects now, the
			// alias makes it select the new revision.
			if len(alias[h.Service.Namespace]) == 0 {
				aliasNS = append(aliasNS, h.Service.Namespace)
			}
			alias[h.Service.Namespace] = append(alias[h.Service.Namespace], fmt.Sprintf("%s of %s (failurePolicy %s)", h.Name, h.Config.ID, h.FailurePolicy))
			if f.spec.RepointWebhooks {
				if err := f.repoint(h); err != nil {
					return err
				}
			}
			continue
		}
		if f.replaced[h.Config.ID] {
			continue // regenerated below (the default tag's webhooks)
		}
		r, ok := f.m.WebhookRevision(h)
		if !ok {
			f.res.Errorf(h.Config, "webhook %s of %s calls Service %s, which resolves to no revision (not in the input, not named istiod or istiod-<rev>, or selecting no istiod)", h.Name, h.Config.ID, svc)
			continue
		}
		f.res.Warnf(h.Config, "webhook %s of %s calls Service %s (revision %s), which does not select an istiod of revision %s in the input: it fails once revision %s is removed (failurePolicy %s)", h.Name, h.Config.ID, svc, r, f.rev, r, h.FailurePolicy)
	}
	for _, ns := range aliasNS {
		if err := f.alias(ns, alias[ns]); err != nil {
			return err
		}
	}
	return nil
}

// alias emits Service <ns>/istiod selecting the new revision's istiod pods
// with the ports of istiod-<rev>. The new istiod's serving certificate
// covers istiod.<ns>.svc (upgrade-model.md), and the 1.5-1.10 validation
// controller waits for the Endpoints of Service "istiod" before it patches
// the validator (ServiceName "istiod" in pilot/pkg/bootstrap/validation.go;
// isEndpointReady in pkg/webhooks/validation/controller/controller.go).
func (f *fixer) alias(ns string, callers []string) error {
	name := mesh.IstiodServiceName(mesh.DefaultRevision)
	want, err := f.aliasNode(ns, name)
	if err != nil {
		return err
	}
	id := mesh.ID{Kind: "Service", Namespace: ns, Name: name}
	if o, ok := f.m.Get(id); ok {
		for _, field := range []string{"selector", "ports"} {
			v := want.Field("spec").Value.Field(field).Value
			if err := o.Node().PipeE(yaml.LookupCreate(yaml.MappingNode, "spec"), yaml.SetField(field, v)); err != nil {
				return err
			}
		}
		if err := o.Node().PipeE(yaml.SetLabel(LabelAliasOf, f.revSvc.ID.Name)); err != nil {
			return err
		}
		f.res.Infof(o, "re-pointed Service %s at the pods of revision %s (selector and ports of %s), for %s", id, f.rev, f.revSvc.ID, strings.Join(callers, "; "))
		return nil
	}
	f.out = append(f.out, mesh.NewItem(want))
	f.res.Infof(&mesh.Object{APIVersion: "v1", ID: id}, "added Service %s selecting the pods of revision %s with the ports of %s (Istio's workaround of that era; istiod of revision %s serves istiod.%s.svc), for %s", id, f.rev, f.revSvc.ID, f.rev, ns, strings.Join(callers, "; "))
	return nil
}

func (f *fixer) aliasNode(ns, name string) (*yaml.RNode, error) {
	n := yaml.NewMapRNode(nil)
	if err := n.PipeE(yaml.SetField("apiVersion", yaml.NewStringRNode("v1"))); err != nil {
		return nil, err
	}
	if err := n.PipeE(yaml.SetField("kind", yaml.NewStringRNode("Service"))); err != nil {
		return nil, err
	}
	if err := n.SetName(name); err != nil {
		return nil, err
	}
	if err := n.SetNamespace(ns); err != nil {
		return nil, err
	}
	labels := map[string]string{}
	for k, v := range f.revSvc.Node().GetLabels() {
		labels[k] = v
	}
	labels[LabelAliasOf] = f.revSvc.ID.Name
	if err := n.SetLabels(labels); err != nil {
		return nil, err
	}
	spec := yaml.NewMapRNode(nil)
	src := f.revSvc.Node().Field("spec").Value
	for _, field := range []string{"ports", "selector"} {
		if v := src.Field(field); v != nil {
			if err := spec.PipeE(yaml.SetField(field, yaml.NewRNode(yaml.CopyYNode(v.Value.YNode())))); err != nil {
				return nil, err
			}
		}
	}
	if err := n.PipeE(yaml.SetField("spec", spec)); err != nil {
		return nil, err
	}
	return n, nil
}

// repoint points a webhook that calls Service istiod at istiod-<rev>.
func (f *fixer) repoint(h *mesh.Webhook) error {
	hooks := h.Config.Node().Field("webhooks")
	if hooks == nil || h.Index >= len(hooks.Value.YNode().Content) {
		return fmt.Errorf("%s: webhooks[%d] not found", h.Config.ID, h.Index)
	}
	wh := yaml.NewRNode(hooks.Value.YNode().Content[h.Index])
	if err := wh.PipeE(yaml.Lookup("clientConfig", "service"), yaml.SetField("name", yaml.NewStringRNode(f.revSvc.ID.Name))); err != nil {
		return err
	}
	f.res.Infof(h.Config, "pointed webhook %s of %s at Service %s (spec.repointWebhooks). Caveat: the webhook is now tied to revision %s and the next upgrade must move it again; the Service istiod is still emitted because istiod of this era patches the caBundle only once Service istiod has endpoints", h.Name, h.Config.ID, f.revSvc.ID, f.rev)
	return nil
}

// legacyPatcher makes the new istiod patch each non-revisioned validator
// (pilot/pkg/bootstrap/validation.go: VALIDATION_WEBHOOK_CONFIG_NAME,
// default "istiod-${namespace}").
func (f *fixer) legacyPatcher() error {
	for _, o := range f.m.WebhookConfigs() {
		if o.ID.Kind != "ValidatingWebhookConfiguration" {
			continue
		}
		if r, _ := mesh.ConfigRevision(o); r != "" {
			continue
		}
		calls := false
		for _, h := range f.m.WebhooksOf(o.ID) {
			if h.Service != nil && h.Service.Namespace == f.ns && (h.Service.Name == "istiod" || h.Service.Name == f.revSvc.ID.Name) {
				calls = true
			}
		}
		if !calls {
			continue
		}
		for _, i := range f.m.IstiodsOf(f.rev) {
			name, ok := mesh.LegacyValidationConfigName(i)
			if ok && name == o.ID.Name {
				f.res.Infof(o, "istiod %s patches %s (caBundle, failurePolicy): its %s resolves to %s", i.ID, o.ID, envValidationName, name)
				continue
			}
			if err := setEnv(i.Node(), "discovery", envValidationName, o.ID.Name); err != nil {
				return err
			}
			was := "is set to \"\" (patch nothing)"
			if ok {
				was = "resolves to " + name
			}
			f.res.Infof(i.Object, "set %s=%s on istiod %s: it %s, so nothing would patch the caBundle of %s once the old istiod is gone", envValidationName, o.ID.Name, i.ID, was, o.ID)
		}
	}
	return nil
}

func setEnv(n *yaml.RNode, container, name, value string) error {
	c, err := n.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name="+container+"]"))
	if err != nil || c == nil {
		return fmt.Errorf("container %s not found: %v", container, err)
	}
	env, err := c.Pipe(yaml.LookupCreate(yaml.SequenceNode, "env"))
	if err != nil {
		return err
	}
	// Fields set one by one: kyaml's NewMapRNode ranges over a Go map,
	// whose order changes from run to run.
	entry := yaml.NewMapRNode(nil)
	if err := entry.PipeE(yaml.SetField("name", yaml.NewStringRNode(name))); err != nil {
		return err
	}
	if err := entry.PipeE(yaml.SetField("value", yaml.NewStringRNode(value))); err != nil {
		return err
	}
	return env.PipeE(yaml.ElementSetter{Keys: []string{"name"}, Values: []string{name}, Element: entry.YNode()})
}
