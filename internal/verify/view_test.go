package verify

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// Identity numbers found by guessing from the previous view's order are the
// ones the map holds, whatever the order of the states' objects: the good
// sequence as is, each state reversed, and states alternating between the
// two orders.
func TestIdentityNumbersFollowAnyOrder(t *testing.T) {
	var forward, reversed []docs
	for _, d := range []docs{s0Running, s1CanaryControlPlane, s2GatewayConfig, s3CanaryGateway, s4Shift, s5DataPlane, s6WebhookContinuity, s7Prune} {
		forward = append(forward, d)
		r := slices.Clone(d)
		slices.Reverse(r)
		reversed = append(reversed, r)
	}
	mixed := make([]docs, len(forward))
	for i := range forward {
		mixed[i] = forward[i]
		if i%2 == 1 {
			mixed[i] = reversed[i]
		}
	}
	for name, seq := range map[string][]docs{"forward": forward, "reversed": reversed, "mixed": mixed} {
		tab := newIDTable(0)
		var views []*view
		for _, d := range seq {
			views = append(views, tab.view(d.model(t)))
		}
		seen := map[int32]bool{}
		for i, v := range views {
			for k, o := range v.objAt {
				if o == nil {
					continue
				}
				g := v.gid[k]
				require.Equal(t, tab.n[o.ID], g, "%s state %d %s", name, i, o.ID)
				require.Equal(t, int32(k), v.at[g], "%s state %d %s", name, i, o.ID)
				seen[g] = true
			}
		}
		require.Len(t, seen, len(tab.n), name)
		// An object of a later state is absent from an earlier one unless
		// that state has its identity.
		for i, v := range views {
			for j, w := range views {
				for _, o := range w.objAt {
					if o == nil {
						continue
					}
					_, has := v.m.Get(o.ID)
					require.Equal(t, has, v.find(w, o) >= 0, "%s: %s of state %d in state %d", name, o.ID, j, i)
				}
			}
		}
	}
}
