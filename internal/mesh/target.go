package mesh

import (
	"fmt"
	"strings"
)

// TargetRevision is the revision a function moves things to: want when it
// is set (it must have an istiod in the model), else the one revision
// other than the default that has an istiod in the model.
func (m *Model) TargetRevision(want string) (string, error) {
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	if want != "" {
		if len(m.IstiodsOf(want)) == 0 {
			return "", fmt.Errorf("functionConfig spec.revision %q: no istiod of that revision in the input (revisions present: %s)", want, list(m.Revisions()))
		}
		return want, nil
	}
	var cands []string
	for _, r := range m.Revisions() {
		if r != DefaultRevision {
			cands = append(cands, r)
		}
	}
	switch len(cands) {
	case 0:
		return "", fmt.Errorf("no new revision in the input: no istiod Deployment of a revision other than %q (revisions present: %s); give the new revision's render (istioctl manifest generate --revision <rev>)", DefaultRevision, list(m.Revisions()))
	case 1:
		return cands[0], nil
	}
	return "", fmt.Errorf("several revisions in the input (%s): set functionConfig spec.revision", strings.Join(cands, ", "))
}
