package mesh

// slab hands out records of one type from chunks allocated in order, so
// that the records of a model lie in memory in input order (see the package
// doc, Performance). A full chunk is never grown in place, so the pointers
// handed out stay valid.
type slab[T any] struct{ chunk []T }

// newSlab returns a slab whose first chunk holds n records.
func newSlab[T any](n int) slab[T] { return slab[T]{chunk: make([]T, 0, max(n, 1))} }

// add copies v into the slab and returns its address.
func (s *slab[T]) add(v T) *T {
	if len(s.chunk) == cap(s.chunk) {
		s.chunk = make([]T, 0, max(2*cap(s.chunk), 8))
	}
	s.chunk = append(s.chunk, v)
	return &s.chunk[len(s.chunk)-1]
}
