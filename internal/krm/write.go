package krm

import (
	"bytes"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Serialize writes a ResourceList keeping the items in their order (the
// SDK's ToYAML sorts them, which would reorder the user's files) and exactly
// as they are: unlike kio.ByteWriter it neither copies the items nor clears
// their empty annotations, so objects a function does not own come out
// byte-identical.
func Serialize(rl *fn.ResourceList) ([]byte, error) {
	items := make([]*yaml.RNode, len(rl.Items))
	for i, it := range rl.Items {
		items[i] = it.MoveToResourceNode()
	}
	defer func() { rl.Items = fn.MoveToKubeObjects(items) }()
	l := &List{Items: mesh.NewItems(items), Results: rl.Results}
	if rl.FunctionConfig != nil && !rl.FunctionConfig.IsEmpty() {
		l.FunctionConfig = rl.FunctionConfig.CopyToResourceNode()
	}
	return WriteList(l)
}

// WriteResourceList encodes items, functionConfig and results as a
// ResourceList, without touching the nodes.
func WriteResourceList(items []*yaml.RNode, config, results *yaml.RNode) ([]byte, error) {
	var prior fn.Results
	if results != nil {
		if err := results.YNode().Decode(&prior); err != nil {
			return nil, err
		}
	}
	return WriteList(&List{Items: mesh.NewItems(items), FunctionConfig: config, Results: prior})
}

// WriteList encodes a ResourceList. Each item is written on its own, as a
// list entry: an item no function materialized is its input text, byte for
// byte; another is encoded alone (encoding the list whole would hold the
// whole output in the emitter's growing buffer: on a 40 MB input, most of
// the run time and memory).
func WriteList(l *List) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeList(&buf, l, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeList writes l to buf; release drops each item from l once written
// (its text and node become garbage while the rest is written).
func writeList(buf mesh.Writer, l *List, release bool) error {
	head := "apiVersion: " + kio.ResourceListAPIVersion + "\nkind: " + kio.ResourceListKind + "\nitems:\n"
	if len(l.Items) == 0 {
		head = "apiVersion: " + kio.ResourceListAPIVersion + "\nkind: " + kio.ResourceListKind + "\nitems: []\n"
	}
	if _, err := buf.WriteString(head); err != nil {
		return err
	}
	for i, it := range l.Items {
		if err := it.WriteEntry(buf); err != nil {
			return err
		}
		if release {
			l.Items[i] = nil
		}
	}
	var results *yaml.RNode
	if len(l.Results) > 0 {
		// Encoded straight into a node: a function may report a result per
		// object, and a text round trip would serialize them twice.
		n, err := resultsNode(l.Results)
		if err != nil {
			return err
		}
		results = yaml.NewRNode(n)
	}
	for _, f := range []struct {
		key  string
		node *yaml.RNode
	}{{"functionConfig", l.FunctionConfig}, {"results", results}} {
		if f.node == nil {
			continue
		}
		m := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: f.key}, f.node.YNode()}}
		if err := mesh.EncodeNode(buf, m); err != nil {
			return err
		}
	}
	return nil
}
