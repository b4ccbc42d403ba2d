package mesh

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Records keep their address and value while the slab grows past its first
// chunk.
func TestSlabKeepsAddresses(t *testing.T) {
	s := newSlab[int](2)
	var ptrs []*int
	for i := 0; i < 100; i++ {
		ptrs = append(ptrs, s.add(i))
	}
	for i, p := range ptrs {
		require.Equal(t, i, *p)
	}
	*ptrs[0] = -1
	require.Equal(t, 1, *ptrs[1], "records do not alias")
	z := newSlab[int](0)
	require.Equal(t, 7, *z.add(7))
}
