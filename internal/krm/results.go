package krm

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// resultsNode builds the results list as YAML nodes, as yaml.Node.Encode
// does from the SDK's structs but without reflection: a function may report
// a result per object, and on a 10k-object input reflecting over them takes
// a quarter of the run. Results with fields the builder does not know
// (field, file, tags) or invalid UTF-8 go through Encode.
func resultsNode(rs fn.Results) (*yaml.Node, error) {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, r := range rs {
		if r == nil || r.Field != nil || r.File != nil || len(r.Tags) > 0 {
			return encodeResults(rs)
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		ok := addString(m, "message", r.Message) && addString(m, "severity", string(r.Severity))
		if ref := r.ResourceRef; ref != nil {
			rm := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			ok = ok && addString(rm, "apiVersion", ref.APIVersion) && addString(rm, "kind", ref.Kind) &&
				addString(rm, "name", ref.Name) && addString(rm, "namespace", ref.Namespace)
			m.Content = append(m.Content, strNode("resourceRef"), rm)
		}
		if !ok {
			return encodeResults(rs)
		}
		seq.Content = append(seq.Content, m)
	}
	return seq, nil
}

func encodeResults(rs fn.Results) (*yaml.Node, error) {
	var n yaml.Node
	if err := n.Encode(rs); err != nil {
		return nil, err
	}
	return &n, nil
}

// addString adds key: s unless s is empty (omitempty); false when s cannot
// be written as the builder writes strings.
func addString(m *yaml.Node, key, s string) bool {
	if s == "" {
		return true
	}
	if !utf8.ValidString(s) {
		return false
	}
	m.Content = append(m.Content, strNode(key), strNode(s))
	return true
}

// strNode is a string scalar styled as the YAML encoder styles a Go string
// (go.yaml.in/yaml/v3 encode.go, stringv): literal when multi-line, double
// quoted when YAML 1.1 would read it as a bool or a base-60 float, and
// otherwise left to the emitter, which quotes what would not read back as a
// string.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	case isOldBool(s) || isBase60Float(s):
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func isOldBool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
		"n", "N", "no", "No", "NO", "off", "Off", "OFF":
		return true
	}
	return false
}

var base60float = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

func isBase60Float(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	if (c != '+' && c != '-' && (c < '0' || c > '9')) || strings.IndexByte(s, ':') < 0 {
		return false
	}
	return base60float.MatchString(s)
}

// Results collects a function's results.
type Results struct{ fn.Results }

func ref(o *mesh.Object) *fn.ResourceRef {
	if o == nil {
		return nil
	}
	return &fn.ResourceRef{APIVersion: o.APIVersion, Kind: o.ID.Kind, Namespace: o.ID.Namespace, Name: o.ID.Name}
}

func (r *Results) add(sev fn.Severity, o *mesh.Object, format string, args ...any) {
	r.Results = append(r.Results, &fn.Result{Severity: sev, Message: fmt.Sprintf(format, args...), ResourceRef: ref(o)})
}

// Infof records a decision about o (o may be nil).
func (r *Results) Infof(o *mesh.Object, format string, args ...any) {
	r.add(fn.Info, o, format, args...)
}

// Warnf records a problem the function worked around.
func (r *Results) Warnf(o *mesh.Object, format string, args ...any) {
	r.add(fn.Warning, o, format, args...)
}

// Errorf records a failure; the function exits non-zero.
func (r *Results) Errorf(o *mesh.Object, format string, args ...any) {
	r.add(fn.Error, o, format, args...)
}

// Failed reports whether an error result was recorded.
func (r *Results) Failed() bool {
	for _, x := range r.Results {
		if x.Severity == fn.Error {
			return true
		}
	}
	return false
}
