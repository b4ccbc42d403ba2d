package krm

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/revshift/revshift/internal/mesh"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// envelope is every revshift functionConfig: a typed object whose settings
// live under spec.
type envelope[T any] struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   map[string]any `yaml:"metadata"`
	Spec       T              `yaml:"spec"`
}

// Validator is a function's spec with rules of its own beyond its fields'
// types: DecodeConfig checks them once it has decoded the spec.
type Validator interface {
	Validate() error
}

// DecodeConfig decodes a functionConfig of the given kind into spec, then
// checks it when it is a Validator. A nil config leaves spec as it is (the
// function's defaults). A wrong apiVersion or kind, or an unknown field, is
// an error naming it.
func DecodeConfig[T any](config *yaml.RNode, kind string, spec *T) error {
	if err := decodeConfig(config, kind, spec); err != nil {
		return err
	}
	if v, ok := any(spec).(Validator); ok {
		return v.Validate()
	}
	return nil
}

// Load is how a transform starts: it decodes the functionConfig into spec
// (DecodeConfig) and builds the model of the items.
func Load[T any](items []*mesh.Item, config *yaml.RNode, kind string, spec *T) (*mesh.Model, error) {
	if err := DecodeConfig(config, kind, spec); err != nil {
		return nil, err
	}
	return mesh.BuildItems(items)
}

func decodeConfig[T any](config *yaml.RNode, kind string, spec *T) error {
	if config == nil {
		return nil
	}
	o, err := mesh.Identify(0, config)
	var ie *mesh.IdentityError
	if errors.As(err, &ie) && ie.Field == "metadata.name" {
		// A functionConfig may be anonymous (kpt fn eval --image ... -- k=v).
		o = &mesh.Object{APIVersion: config.GetApiVersion(), ID: mesh.ID{Kind: config.GetKind()}}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("functionConfig: %s", strings.TrimPrefix(err.Error(), "items[0]: "))
	}
	if o.APIVersion != APIVersion || o.ID.Kind != kind {
		return fmt.Errorf("functionConfig: expected apiVersion %s, kind %s; got apiVersion %q, kind %q", APIVersion, kind, o.APIVersion, o.ID.Kind)
	}
	data, err := config.String()
	if err != nil {
		return fmt.Errorf("functionConfig %s/%s: %v", kind, o.ID.Name, err)
	}
	env := envelope[T]{Spec: *spec}
	dec := yaml.NewDecoder(strings.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&env); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
		msg = strings.Join(strings.Fields(msg), " ")
		msg = unknownField.ReplaceAllString(msg, `unknown field "$2" (line $1)`)
		msg = badType.ReplaceAllString(msg, `line $1: a $2 value where $3 is expected`)
		return fmt.Errorf("functionConfig %s/%s: %s", kind, o.ID.Name, msg)
	}
	*spec = env.Spec
	return nil
}

var (
	unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)
	badType      = regexp.MustCompile(`line (\d+): cannot unmarshal (\S+)(?: .+?)? into (\S+)`)
)

// CheckRevision checks the revision in a functionConfig's spec field; ""
// (unset) is valid.
func CheckRevision(field, rev string) error {
	if rev == "" {
		return nil
	}
	if err := mesh.ValidRevision(rev); err != nil {
		return fmt.Errorf("functionConfig spec.%s: %v", field, err)
	}
	return nil
}
