package mesh

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// CRDVersion is one version of a CustomResourceDefinition.
type CRDVersion struct {
	Name    string
	Served  bool
	Storage bool
}

// IsCRD reports whether an identity is a CustomResourceDefinition.
func IsCRD(id ID) bool {
	return id.Group == "apiextensions.k8s.io" && id.Kind == "CustomResourceDefinition"
}

// CRDVersions reads the versions of a CustomResourceDefinition, both
// apiextensions.k8s.io/v1 (spec.versions) and v1beta1 (spec.versions, or the
// single spec.version, which is then served and stored).
func CRDVersions(o *Object) ([]CRDVersion, error) {
	spec := lookup(o.Node().YNode(), "spec")
	vs := lookup(spec, "versions")
	if !absent(vs) {
		if vs.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("spec.versions: expected a list")
		}
		var out []CRDVersion
		for i, v := range vs.Content {
			field := fmt.Sprintf("spec.versions[%d]", i)
			name := scalar(lookup(v, "name"))
			if name == "" {
				return nil, fmt.Errorf("%s.name: missing", field)
			}
			served, err := optBool(lookup(v, "served"), field+".served", true)
			if err != nil {
				return nil, err
			}
			storage, err := optBool(lookup(v, "storage"), field+".storage", false)
			if err != nil {
				return nil, err
			}
			out = append(out, CRDVersion{Name: name, Served: served, Storage: storage})
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	if v := scalar(lookup(spec, "version")); v != "" {
		return []CRDVersion{{Name: v, Served: true, Storage: true}}, nil
	}
	return nil, fmt.Errorf("spec.versions: missing (and no spec.version)")
}

func optBool(n *yaml.Node, field string, def bool) (bool, error) {
	if absent(n) {
		return def, nil
	}
	if n.Kind == yaml.ScalarNode {
		switch n.Value {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: expected true or false", field)
}

// ServedVersions returns the names of the served versions, in order.
func ServedVersions(vs []CRDVersion) []string {
	var out []string
	for _, v := range vs {
		if v.Served {
			out = append(out, v.Name)
		}
	}
	return out
}

// DroppedVersions returns the versions that old serves and next does not:
// objects stored or read in those versions become unreachable, and a
// controller that watches them (the running istiod) fails.
func DroppedVersions(old, next []CRDVersion) []string {
	served := ServedVersions(next)
	var out []string
	for _, v := range ServedVersions(old) {
		if !slices.Contains(served, v) {
			out = append(out, v)
		}
	}
	return out
}

// Version is an Istio release number such as 1.6.14.
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Compare returns -1, 0 or 1.
func (v Version) Compare(o Version) int {
	for _, d := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {v.Patch, o.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ParseVersion reads "1.6.14", "1.31.0-rc.1" or "1.6" (patch 0). ok is false
// for anything else (a digest, "latest", a dev build tag).
func ParseVersion(s string) (Version, bool) {
	s, _, _ = strings.Cut(s, "-")
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, false
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, true
}

// IstiodVersion is the Istio release an istiod runs, read from its
// discovery container's image tag (docker.io/istio/pilot:1.6.14). ok is
// false when the tag is not a release number.
func IstiodVersion(i *Istiod) (Version, bool) {
	c := i.Container("discovery")
	if c == nil {
		return Version{}, false
	}
	img := c.Image
	if at := strings.Index(img, "@"); at >= 0 {
		img = img[:at]
	}
	colon := strings.LastIndex(img, ":")
	if colon < 0 || strings.Contains(img[colon:], "/") {
		return Version{}, false
	}
	return ParseVersion(img[colon+1:])
}
