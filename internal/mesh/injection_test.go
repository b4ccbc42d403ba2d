package mesh

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestNamespaceInjection(t *testing.T) {
	for _, c := range []struct {
		name     string
		labels   map[string]string
		want     Injection
		labelled bool
	}{
		{"none", nil, Injection{}, false},
		{"legacy", map[string]string{"istio-injection": "enabled"}, Injection{Legacy: true}, true},
		{"legacy wins over rev", map[string]string{"istio-injection": "enabled", "istio.io/rev": "1-6-14"}, Injection{Legacy: true}, true},
		{"disabled", map[string]string{"istio-injection": "disabled"}, Injection{Disabled: true}, false},
		{"disabled hides rev", map[string]string{"istio-injection": "disabled", "istio.io/rev": "1-6-14"}, Injection{Disabled: true}, false},
		{"unknown value is not enabled", map[string]string{"istio-injection": "true"}, Injection{Disabled: true}, false},
		{"rev", map[string]string{"istio.io/rev": "1-6-14"}, Injection{Rev: "1-6-14"}, true},
		{"empty rev", map[string]string{"istio.io/rev": ""}, Injection{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := NamespaceInjection(c.labels)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.labelled, got.Labelled())
		})
	}
}

// The injector shapes of the real renders: 1.5.10 (legacy), 1.6.14
// revisioned, and the modern default revision's four webhooks (namespace
// and object level, for istio-injection and istio.io/rev).
const injectorFixture = `
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /inject}}
  namespaceSelector: {matchLabels: {istio-injection: enabled}}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-1-6-14, labels: {istio.io/rev: 1-6-14}}
webhooks:
- name: sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-6-14, namespace: istio-system, path: /inject}}
  namespaceSelector:
    matchExpressions:
    - {key: istio-injection, operator: DoesNotExist}
    - {key: istio.io/rev, operator: In, values: [1-6-14]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-sidecar-injector-1-31-0, labels: {istio.io/rev: 1-31-0}}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-31-0, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: In, values: [1-31-0]}
    - {key: istio-injection, operator: DoesNotExist}
  objectSelector:
    matchExpressions:
    - {key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}
- name: rev.object.sidecar-injector.istio.io
  clientConfig: {service: {name: istiod-1-31-0, namespace: istio-system, path: /inject, port: 443}}
  namespaceSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: DoesNotExist}
    - {key: istio-injection, operator: DoesNotExist}
  objectSelector:
    matchExpressions:
    - {key: sidecar.istio.io/inject, operator: NotIn, values: ["false"]}
    - {key: istio.io/rev, operator: In, values: [1-31-0]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: istio-revision-tag-prod, labels: {istio.io/rev: 1-31-0, istio.io/tag: prod}}
webhooks:
- name: rev.namespace.sidecar-injector.istio.io
  clientConfig: {url: "https://10.0.0.1:15017/inject/cluster/c1/net/n1"}
  namespaceSelector:
    matchExpressions:
    - {key: istio.io/rev, operator: In, values: [prod]}
    - {key: istio-injection, operator: DoesNotExist}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: istiod-istio-system}
webhooks:
- name: validation.istio.io
  clientConfig: {service: {name: istiod, namespace: istio-system, path: /validate}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: not-istio}
webhooks:
- name: defaults.example.com
  clientConfig: {service: {name: defaulter, namespace: x, path: /mutate}}
`

func TestInjectorsForNamespace(t *testing.T) {
	m := build(t, injectorFixture)
	names := func(hs []*Webhook) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Config.ID.Name+"/"+h.Name)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"legacy", map[string]string{"istio-injection": "enabled"}, []string{"istio-sidecar-injector/sidecar-injector.istio.io"}},
		// istio-injection takes precedence: the revision's injector does
		// not match while it is present.
		{"legacy label kept next to rev", map[string]string{"istio-injection": "enabled", "istio.io/rev": "1-6-14"}, []string{"istio-sidecar-injector/sidecar-injector.istio.io"}},
		{"rev 1-6-14", map[string]string{"istio.io/rev": "1-6-14"}, []string{"istio-sidecar-injector-1-6-14/sidecar-injector.istio.io"}},
		// Only the namespace-level webhook: the object-level one needs
		// the pod to carry istio.io/rev.
		{"rev 1-31-0", map[string]string{"istio.io/rev": "1-31-0"}, []string{"istio-sidecar-injector-1-31-0/rev.namespace.sidecar-injector.istio.io"}},
		{"tag", map[string]string{"istio.io/rev": "prod"}, []string{"istio-revision-tag-prod/rev.namespace.sidecar-injector.istio.io"}},
		{"unknown rev", map[string]string{"istio.io/rev": "1-7-8"}, nil},
		{"no labels", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, names(m.InjectorsForNamespace(c.labels)))
		})
	}
}

func TestIsInjectorAndWebhookRevision(t *testing.T) {
	m := build(t, injectorFixture)
	type row struct {
		injector bool
		rev      string
		ok       bool
	}
	got := map[string]row{}
	for _, h := range m.Webhooks {
		r, ok := m.WebhookRevision(h)
		got[h.Config.ID.Name+"/"+h.Name] = row{IsInjector(h), r, ok}
	}
	assert.Equal(t, map[string]row{
		"istio-sidecar-injector/sidecar-injector.istio.io":                      {true, "default", true},
		"istio-sidecar-injector-1-6-14/sidecar-injector.istio.io":               {true, "1-6-14", true},
		"istio-sidecar-injector-1-31-0/rev.namespace.sidecar-injector.istio.io": {true, "1-31-0", true},
		"istio-sidecar-injector-1-31-0/rev.object.sidecar-injector.istio.io":    {true, "1-31-0", true},
		// URL webhook: no Service, the configuration's istio.io/rev label.
		"istio-revision-tag-prod/rev.namespace.sidecar-injector.istio.io": {true, "1-31-0", true},
		"istiod-istio-system/validation.istio.io":                         {false, "default", true},
		"not-istio/defaults.example.com":                                  {false, "", false},
	}, got)
}

func TestWorkloadInjectionAndRollout(t *testing.T) {
	m := build(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: apps}
spec:
  selector: {matchLabels: {app: plain}}
  template: {metadata: {labels: {app: plain}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: paused, namespace: apps}
spec:
  paused: true
  selector: {matchLabels: {app: paused}}
  template: {metadata: {labels: {app: paused}, annotations: {sidecar.istio.io/inject: "false"}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: ondelete, namespace: apps}
spec:
  updateStrategy: {type: OnDelete}
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db, sidecar.istio.io/inject: "true"}, annotations: {sidecar.istio.io/inject: "false"}}}
---
apiVersion: apps/v1beta1
kind: StatefulSet
metadata: {name: old-api, namespace: apps}
spec:
  selector: {matchLabels: {app: old}}
  template: {metadata: {labels: {app: old, sidecar.istio.io/inject: "no"}}}
---
apiVersion: extensions/v1beta1
kind: DaemonSet
metadata: {name: old-ds, namespace: other}
spec:
  selector: {matchLabels: {app: ds}}
  template: {metadata: {labels: {app: ds}, annotations: {sidecar.istio.io/inject: "Yes"}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, namespace: other}
spec:
  updateStrategy: {type: RollingUpdate}
  selector: {matchLabels: {app: ds2}}
  template: {metadata: {labels: {app: ds2}}, spec: {hostNetwork: true}}
`)
	type row struct {
		notInjected bool
		reason      string
		rolls       bool
		why         string
	}
	got := map[string]row{}
	for _, w := range m.Workloads {
		rolls, why := w.RollsOnTemplateChange()
		not, reason := w.NotInjected()
		got[w.ID.Name] = row{not, reason, rolls, why}
	}
	assert.Equal(t, map[string]row{
		"plain":    {false, "", true, ""},
		"paused":   {true, `pod template annotation sidecar.istio.io/inject="false"`, false, "spec.paused is true"},
		"ondelete": {false, "", false, "spec.updateStrategy.type is OnDelete"}, // the label wins over the annotation
		"old-api":  {true, `pod template label sidecar.istio.io/inject="no"`, false, "spec.updateStrategy.type defaults to OnDelete in apps/v1beta1"},
		"old-ds":   {false, "", false, "spec.updateStrategy.type defaults to OnDelete in extensions/v1beta1"},
		"ds":       {true, "spec.template.spec.hostNetwork is true", true, ""},
	}, got)

	var apps []string
	for _, w := range m.WorkloadsIn("apps") {
		apps = append(apps, w.ID.Name)
	}
	assert.Equal(t, []string{"plain", "paused", "ondelete", "old-api"}, apps)
	assert.Empty(t, m.WorkloadsIn("nowhere"))
}

func TestParseLabelSelector(t *testing.T) {
	node := func(s string) *yaml.Node {
		if s == "" {
			return &yaml.Node{}
		}
		return yaml.MustParse(s).YNode()
	}
	for _, c := range []struct {
		name    string
		sel     string
		matches []map[string]string
		misses  []map[string]string
		err     string
	}{
		{name: "absent selects everything", sel: "", matches: []map[string]string{nil, {"a": "b"}}},
		{name: "null selects everything", sel: "null", matches: []map[string]string{nil}},
		{name: "empty selects everything", sel: "{}", matches: []map[string]string{nil}},
		{name: "matchLabels", sel: "matchLabels: {team: a}", matches: []map[string]string{{"team": "a", "x": "y"}}, misses: []map[string]string{{"team": "b"}, nil}},
		{name: "matchExpressions", sel: "matchExpressions: [{key: team, operator: NotIn, values: [b]}, {key: mesh, operator: Exists}]",
			matches: []map[string]string{{"team": "a", "mesh": ""}}, misses: []map[string]string{{"team": "b", "mesh": ""}, {"team": "a"}}},
		{name: "misspelt matchLabels", sel: "matchLabel: {team: a}", err: `spec.namespaceSelector: unknown field "matchLabel" (expected matchLabels, matchExpressions)`},
		{name: "misspelt expression key", sel: "matchExpressions: [{key: a, operator: In, value: [x]}]", err: `spec.namespaceSelector.matchExpressions[0]: unknown field "value"`},
		{name: "not a map", sel: "team=a", err: "spec.namespaceSelector: expected a label selector"},
		{name: "expressions not a list", sel: "matchExpressions: {key: a}", err: "spec.namespaceSelector.matchExpressions: expected a list"},
		{name: "expression not a map", sel: "matchExpressions: [a]", err: "spec.namespaceSelector.matchExpressions[0]: expected {key, operator, values}"},
		{name: "values not a list", sel: "matchExpressions: [{key: a, operator: In, values: x}]", err: "spec.namespaceSelector.matchExpressions[0].values: expected a list of strings"},
		{name: "value not a string", sel: "matchExpressions: [{key: a, operator: In, values: [{x: y}]}]", err: "spec.namespaceSelector.matchExpressions[0].values[0]: expected a string"},
		{name: "bad operator", sel: "matchExpressions: [{key: a, operator: Equals, values: [x]}]", err: `spec.namespaceSelector: "Equals" is not a valid label selector operator`},
		{name: "missing key", sel: "matchExpressions: [{operator: Exists}]", err: "spec.namespaceSelector.matchExpressions[0].key: missing"},
		{name: "label value not a string", sel: "matchLabels: {a: [b]}", err: "spec.namespaceSelector.matchLabels.a: expected a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sel, err := ParseLabelSelector(node(c.sel), "spec.namespaceSelector")
			if c.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.err)
				return
			}
			require.NoError(t, err)
			for _, l := range c.matches {
				assert.True(t, sel.Matches(labels.Set(l)), "should match %v", l)
			}
			for _, l := range c.misses {
				assert.False(t, sel.Matches(labels.Set(l)), "should not match %v", l)
			}
		})
	}
	// nil node too
	sel, err := ParseLabelSelector(nil, "x")
	require.NoError(t, err)
	assert.True(t, sel.Empty())
}
