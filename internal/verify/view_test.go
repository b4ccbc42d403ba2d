package verify

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// sameSelector answers as comparing the selectors' String(), the text RS011
// used to compare, for every pair of these selectors.
func TestSameSelectorIsStringEquality(t *testing.T) {
	in := func(key string, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values}
	}
	specs := []*metav1.LabelSelector{
		{},
		{MatchLabels: map[string]string{"app": "gw"}},
		{MatchLabels: map[string]string{"app": "gw", "istio": "ingressgateway"}},
		{MatchLabels: map[string]string{"istio": "ingressgateway", "app": "gw"}},
		{MatchLabels: map[string]string{"app": "gw2"}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{in("app", "gw")}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{in("app", "a", "b")}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{in("app", "b", "a")}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"a", "b"}}}},
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}},
	}
	sels := []labels.Selector{labels.Nothing()}
	for _, s := range specs {
		sel, err := metav1.LabelSelectorAsSelector(s)
		require.NoError(t, err)
		sels = append(sels, sel)
	}
	equal := 0
	for i, a := range sels {
		for j, b := range sels {
			want := a.String() == b.String()
			if want && i != j {
				equal++
			}
			assert.Equal(t, want, sameSelector(a, b), "%d {%s} vs %d {%s}", i, a, j, b)
		}
	}
	// Pairs that print alike without being the same value: the map in
	// another order, In values in another order, Nothing and Everything.
	assert.Equal(t, 6, equal)
	assert.True(t, sameSelector(nil, nil))
	assert.False(t, sameSelector(nil, labels.Everything()))
}
