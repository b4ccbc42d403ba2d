package krmtest

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/revshift/revshift/internal/krm"
)

// BadInput is one malformed input and the message its error must carry.
type BadInput struct {
	Name  string
	Input string
	// Want are substrings of the error, which must appear both in an error
	// result and in what the program writes to stderr.
	Want []string
}

// CommonBadInputs are the malformed inputs every function must reject with a
// clear error (the skeleton issue's list). kind is the function's
// functionConfig kind.
func CommonBadInputs(kind string) []BadInput {
	return []BadInput{
		{"invalid YAML", "kind: ResourceList\nitems: [\n", []string{"invalid input ResourceList"}},
		{"not a ResourceList", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", []string{"invalid input ResourceList", `unexpected kind "ConfigMap"`}},
		{"items not a list", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: b}\n", []string{"invalid input ResourceList", "items"}},
		{"object without kind", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  metadata:\n    name: orphan\n", []string{"items[0]: kind: missing", "orphan"}},
		{"object without name", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    namespace: default\n", []string{"items[0]: metadata.name: missing (ConfigMap)"}},
		{"duplicate identity", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: x}}\n", []string{"duplicate object ConfigMap/x/a", "items[0] and items[1]"}},
		{"functionConfig of the wrong kind", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cfg\nitems: []\n", []string{"functionConfig: expected apiVersion " + krm.APIVersion + ", kind " + kind, `got apiVersion "v1", kind "ConfigMap"`}},
		{"functionConfig of the wrong apiVersion", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: revshift.dev/v0\n  kind: " + kind + "\n  metadata:\n    name: cfg\nitems: []\n", []string{"functionConfig: expected apiVersion " + krm.APIVersion, `got apiVersion "revshift.dev/v0"`}},
		{"functionConfig with an unknown field", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nfunctionConfig:\n  apiVersion: " + krm.APIVersion + "\n  kind: " + kind + "\n  metadata:\n    name: cfg\n  spec:\n    noSuchField: true\nitems: []\n", []string{`functionConfig ` + kind + `/cfg: unknown field "noSuchField"`}},
		{"YAML alias bomb", aliasBomb(), []string{"invalid input ResourceList", "YAML aliases are not supported"}},
	}
}

// aliasBomb is a billion-laughs document: expanding it would take gigabytes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		b.WriteString("x" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := 0; j < 9; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	b.WriteString("items: *a9\n")
	return b.String()
}

// CheckBadInputs runs each bad input through the program entry point and
// asserts a non-zero exit, an error result in the output, and the message on
// stderr.
func CheckBadInputs(t *testing.T, name string, p fn.ResourceListProcessor, cases []BadInput) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := krm.MainIO(name, p, strings.NewReader(c.Input), &stdout, &stderr)
			if code == 0 {
				t.Fatalf("exit code 0 for bad input; stdout:\n%s", stdout.String())
			}
			rl, err := krm.Parse(stdout.Bytes())
			if err != nil {
				t.Fatalf("stdout is not a ResourceList: %v\n%s", err, stdout.String())
			}
			var errs []string
			for _, r := range rl.Results {
				if r.Severity == fn.Error {
					errs = append(errs, r.Message)
				}
			}
			if len(errs) == 0 {
				t.Fatalf("no error result; stdout:\n%s", stdout.String())
			}
			all := strings.Join(errs, "\n")
			for _, w := range c.Want {
				if !strings.Contains(all, w) {
					t.Errorf("error results lack %q:\n%s", w, all)
				}
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// FuzzProperties checks the properties every function keeps on any input:
// no panic, the output is a ResourceList, failures carry an error result,
// the same input gives the same bytes, and a second run on a successful
// output changes nothing.
func FuzzProperties(t *testing.T, p fn.ResourceListProcessor, input []byte) {
	out1, res1, ok1 := krm.Run(p, input)
	out2, _, _ := krm.Run(p, input)
	if !bytes.Equal(out1, out2) {
		t.Fatalf("not deterministic")
	}
	rl, err := krm.Parse(out1)
	if err != nil {
		t.Fatalf("output is not a ResourceList: %v\n%s", err, out1)
	}
	if !ok1 {
		for _, r := range res1 {
			if r.Severity == fn.Error {
				return
			}
		}
		t.Fatalf("failed without an error result")
	}
	// Idempotence: feed the output items (with the same functionConfig)
	// back in.
	again, _, ok := krm.Run(p, out1)
	if !ok {
		t.Fatalf("second run on a successful output failed:\n%s", again)
	}
	rl2, err := krm.Parse(again)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := krm.Serialize(&fn.ResourceList{Items: rl.Items, FunctionConfig: fn.NewEmptyKubeObject()})
	b, _ := krm.Serialize(&fn.ResourceList{Items: rl2.Items, FunctionConfig: fn.NewEmptyKubeObject()})
	if !bytes.Equal(a, b) {
		t.Fatalf("not idempotent:\n%s", diff(string(a), string(b)))
	}
}
