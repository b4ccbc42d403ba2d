package prunelegacy

import (
	"sort"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
)

func kindName(id mesh.ID) string {
	if id.Group == "" {
		return id.Kind
	}
	return id.Kind + "." + id.Group
}

func refList(refs []mesh.Reference) string {
	parts := make([]string, 0, len(refs))
	for _, r := range refs {
		parts = append(parts, r.From.String()+" ("+r.Why+")")
	}
	return strings.Join(parts, ", ")
}

func workloadList(ws []*mesh.Workload) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		parts = append(parts, w.ID.String())
	}
	return strings.Join(parts, ", ")
}

func selectorString(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}
