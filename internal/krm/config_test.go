package krm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

type testSpec struct {
	Names []string `yaml:"names"`
	Count int      `yaml:"count"`
	Flag  bool     `yaml:"flag"`
}

func TestDecodeConfig(t *testing.T) {
	cases := []struct{ name, config, want string }{
		{"unknown field", "apiVersion: revshift.dev/v1alpha1\nkind: T\nmetadata: {name: c}\nspec:\n  nmes: [a]\n", `functionConfig T/c: unknown field "nmes" (line 5)`},
		{"wrong type", "apiVersion: revshift.dev/v1alpha1\nkind: T\nmetadata: {name: c}\nspec:\n  count: [1]\n", "functionConfig T/c: line 5: a !!seq value where int is expected"},
		{"wrong scalar", "apiVersion: revshift.dev/v1alpha1\nkind: T\nmetadata: {name: c}\nspec:\n  flag: maybe\n", "functionConfig T/c: line 5: a !!str value where bool is expected"},
		{"wrong kind", "apiVersion: revshift.dev/v1alpha1\nkind: U\nmetadata: {name: c}\n", `expected apiVersion revshift.dev/v1alpha1, kind T; got apiVersion "revshift.dev/v1alpha1", kind "U"`},
		{"no kind", "apiVersion: revshift.dev/v1alpha1\nmetadata: {name: c}\n", "functionConfig: kind: missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s testSpec
			err := DecodeConfig(yaml.MustParse(c.config), "T", &s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	s := testSpec{Count: 7}
	require.NoError(t, DecodeConfig(yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: T\nspec:\n  names: [a, b]\n"), "T", &s), "metadata.name is optional")
	assert.Equal(t, testSpec{Names: []string{"a", "b"}, Count: 7}, s, "unset fields keep their defaults")
	require.NoError(t, DecodeConfig[testSpec](nil, "T", &s))
}

type checkedSpec struct {
	Count int `yaml:"count"`
}

func (s checkedSpec) Validate() error {
	if s.Count < 0 {
		return fmt.Errorf("functionConfig spec.count: %d is negative", s.Count)
	}
	return nil
}

// A spec that is a Validator is checked once decoded.
func TestDecodeConfigValidates(t *testing.T) {
	var s checkedSpec
	err := DecodeConfig(yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: T\nspec:\n  count: -1\n"), "T", &s)
	require.EqualError(t, err, "functionConfig spec.count: -1 is negative")
	require.NoError(t, DecodeConfig(yaml.MustParse("apiVersion: revshift.dev/v1alpha1\nkind: T\nspec:\n  count: 2\n"), "T", &s))
	assert.Equal(t, 2, s.Count)
}
