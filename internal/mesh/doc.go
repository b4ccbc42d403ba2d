// Package mesh is revshift's one domain model of a rendered Istio mesh.
//
// It reads a list of rendered objects (Items: a ResourceList's entries kept
// as their text with the facts the model needs, or kyaml RNodes) and answers
// the questions an upgrade step asks:
// which istiods run which revision, which Deployments are gateways and which
// istiod they talk to, which Services and Istio Gateway resources select which
// pods, which webhooks call which Services, which PDBs and HPAs govern which
// Deployments, and which objects reference which.
//
// Nothing else in revshift parses selectors, ports or webhooks: functions ask
// the model. The model never mutates the nodes it was built from; functions
// that edit a node rebuild the model when they need fresh answers.
//
// # Performance
//
// Every function builds a model of its whole input on every call, and the
// verifier builds one per state and checks every state and every step, on
// inputs of up to 10k objects. Two costs decide how that scales, and the
// package is shaped by them; the comments elsewhere point here.
//
// Memory. A parsed YAML object takes about 20 times its text. An item
// read from a ResourceList keeps its text and the facts the model needs,
// read once when the text is parsed, and drops its tree (Item). Object.Node
// parses the text again and keeps the tree: call it only for objects a
// function edits or must read beyond the facts. Items never materialized
// are written back byte for byte.
//
// Locality. On 1k objects a model fits in the CPU cache; on 10k it does
// not, and every pointer chased to a string or record the YAML parser left
// somewhere on the heap is a cache miss, state after state in the verifier.
// So what the model reads over and over lies in memory in input order and
// is compared as small numbers:
//   - the identities of a list's objects are packed into one string
//     (packIDs), and a model's records are allocated from slabs, in input
//     order (slab, records);
//   - namespaces and pod label pairs are numbered as workloads are added,
//     and the selectors of Services, PDBs and Gateway resources are written
//     in those numbers (number.go): selection compares sorted integers, and
//     picks its candidates from an index of (namespace, pair) -> workloads,
//     so it is linear in the number of objects, not quadratic;
//   - what is asked of every object of every state (a selector's text, a
//     workload's ports, the Services a gateway's addresses name) is worked
//     out when the object is read or the model built, while it is in the
//     cache, not when a rule asks;
//   - the selection relations are computed once per model, in both
//     directions (selection.go).
//
// The verifier follows the same rule for what it adds (internal/verify: its
// views number identities across states, and check each state as it is
// built).
package mesh
