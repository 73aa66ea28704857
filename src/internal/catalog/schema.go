package catalog

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// The broker enforces a subset of JSON Schema draft-04 by hand (the standard library has no
// validator): one flat object of scalar properties, because each instance parameter becomes an
// environment variable of the container. The platform shows the schema to users as written.

// planSchemas is what the broker enforces of a plan's `schemas`.
type planSchemas struct {
	create, update *parametersSchema // of service_instance; nil when absent
}

// parametersSchema is an allow-list of parameters.
type parametersSchema struct {
	properties map[string]propertySchema
	required   []string
}

// propertySchema constrains one parameter.
type propertySchema struct {
	typ                  string // string, integer, number or boolean
	enum                 []any
	minimum, maximum     *float64
	minLength, maxLength *int
	pattern              *regexp.Regexp
}

// maxSchemaBytes is the OSB limit on one schema.
const maxSchemaBytes = 64 << 10

// The annotations JSON Schema defines besides its validation keywords: shown to users, not enforced.
var schemaAnnotations = []string{"title", "description", "default", "examples", "$comment"}

// parameterTypes names, for messages, what a value of each supported type is.
var parameterTypes = map[string]string{
	"string":  "a string",
	"integer": "an integer",
	"number":  "a number",
	"boolean": "true or false",
}

// reservedEnvNames lists the environment variables a user's parameters must not set, with who
// sets them: a parameter named like a credential would replace the generated secret.
func reservedEnvNames(c Credentials) map[string]string {
	reserved := map[string]string{"NAME": "the broker (the container's name)"}
	maps.Copy(reserved, c.envKeys())
	return reserved
}

// readSchemas reads a plan's `schemas`, reporting what the platform or the broker would refuse.
func readSchemas(r *reader, at string, raw json.RawMessage, reserved map[string]string) planSchemas {
	o := r.objectAt(at, raw)
	if o == nil {
		return planSchemas{}
	}
	var s planSchemas
	if instance := o.child("service_instance"); instance != nil {
		s.create = readOperationSchema(instance, "create", true, reserved)
		s.update = readOperationSchema(instance, "update", true, reserved)
		instance.warnUnknown()
	}
	if binding := o.child("service_binding"); binding != nil {
		readOperationSchema(binding, "create", false, nil)
		binding.warnUnknown()
	}
	o.warnUnknown()
	return s
}

// readOperationSchema reads `<operation>.parameters` below o. asEnv says whether the
// parameters become environment variables, which constrains their names.
func readOperationSchema(o *object, operation string, asEnv bool, reserved map[string]string) *parametersSchema {
	op := o.child(operation)
	if op == nil {
		return nil
	}
	defer op.warnUnknown()
	raw, ok := op.value("parameters")
	if !ok {
		return nil
	}
	if len(raw) > maxSchemaBytes {
		op.r.problem(op.at("parameters"), "%d bytes: larger than the 64 kB OSB limit", len(raw))
	}
	params := op.r.objectAt(op.at("parameters"), raw)
	if params == nil {
		return nil
	}
	return readParametersSchema(params, asEnv, reserved)
}

func readParametersSchema(o *object, asEnv bool, reserved map[string]string) *parametersSchema {
	s := &parametersSchema{properties: map[string]propertySchema{}}
	if raw, ok := o.value("$schema"); !ok {
		o.r.problem(o.at("$schema"), "required by the platform; use \"http://json-schema.org/draft-04/schema#\"")
	} else if uri, ok := o.r.stringAt(o.at("$schema"), raw); ok && !strings.Contains(uri, "json-schema.org/draft-04/") {
		o.r.warn(o.at("$schema"), "%q: Cloud Foundry expects draft-04 (http://json-schema.org/draft-04/schema#)", uri)
	}
	switch typ := o.str("type"); typ {
	case "object":
	case "":
		o.r.problem(o.at("type"), "required: parameters are a JSON object, write type: object")
	default:
		o.r.problem(o.at("type"), "%q: parameters are a JSON object, write type: object", typ)
	}
	if properties := o.child("properties"); properties != nil {
		for _, name := range properties.keys() {
			at := properties.at(name)
			switch who, isReserved := reserved[name]; {
			case asEnv && !isEnvName(name):
				o.r.problem(at, "not an environment variable name (letters, digits and '_', not starting with a digit): parameters become environment variables of the container")
			case isReserved:
				o.r.problem(at, "%s is set by %s; parameters must never override it", name, who)
			}
			raw, _ := properties.value(name)
			if property := o.r.objectAt(at, raw); property != nil {
				s.properties[name] = readPropertySchema(property)
			} else if isAbsent(raw) {
				o.r.problem(at, "expected an object, found null")
			}
		}
	}
	for _, item := range o.stringItems("required") {
		if _, declared := s.properties[item.text]; !declared {
			o.r.problem(item.path, "%q is not among the properties", item.text)
		}
		s.required = append(s.required, item.text)
	}
	if raw, ok := o.value("additionalProperties"); ok && string(raw) != "false" {
		o.r.warn(o.at("additionalProperties"), "the broker refuses undeclared parameters whatever this says")
	}
	o.ignore(schemaAnnotations...)
	warnUnenforced(o)
	return s
}

func readPropertySchema(o *object) propertySchema {
	p := propertySchema{typ: o.str("type")}
	if _, supported := parameterTypes[p.typ]; !supported {
		if p.typ == "" {
			o.r.problem(o.at("type"), "required: string, integer, number or boolean")
		} else {
			o.r.problem(o.at("type"), "%q: unsupported type, use string, integer, number or boolean (parameters become environment variables)", p.typ)
		}
		o.ignore("enum", "minimum", "maximum", "minLength", "maxLength", "pattern")
		o.ignore(schemaAnnotations...)
		return p
	}
	if raw, ok := o.value("enum"); ok {
		for i, item := range o.r.itemsAt(o.at("enum"), raw) {
			var value any
			if err := json.Unmarshal(item, &value); err != nil || !hasType(p.typ, value) {
				o.r.problem(config.Index(o.at("enum"), i), "%s is not %s", item, parameterTypes[p.typ])
				continue
			}
			p.enum = append(p.enum, value)
		}
	}
	numeric := p.typ == "integer" || p.typ == "number"
	p.minimum = o.schemaNumber("minimum", numeric)
	p.maximum = o.schemaNumber("maximum", numeric)
	p.minLength = o.schemaLength("minLength", p.typ == "string")
	p.maxLength = o.schemaLength("maxLength", p.typ == "string")
	if pattern := o.str("pattern"); pattern != "" {
		if p.typ != "string" {
			o.r.problem(o.at("pattern"), "applies to strings only")
		} else if re, err := regexp.Compile(pattern); err != nil {
			o.r.problem(o.at("pattern"), "%q: not a regular expression the broker can check (RE2 syntax): %v", pattern, err)
		} else {
			p.pattern = re
		}
	}
	o.ignore(schemaAnnotations...)
	warnUnenforced(o)
	return p
}

func (o *object) schemaNumber(key string, applies bool) *float64 {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil {
		o.r.problem(o.at(key), "expected a number, found %s", kindOf(raw))
		return nil
	}
	if !applies {
		o.r.problem(o.at(key), "applies to integers and numbers only")
		return nil
	}
	return &n
}

func (o *object) schemaLength(key string, applies bool) *int {
	raw, ok := o.value(key)
	if !ok {
		return nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		o.r.problem(o.at(key), "expected a whole number from 0 up, found %s", kindOf(raw))
		return nil
	}
	if !applies {
		o.r.problem(o.at(key), "applies to strings only")
		return nil
	}
	return &n
}

// warnUnenforced reports the JSON Schema keywords the broker does not check: the platform
// may still show them, but a user can send values they would forbid.
func warnUnenforced(o *object) {
	for _, key := range o.unaskedKeys() {
		o.r.warn(o.at(key), "not enforced by the broker, ignored")
	}
}

// names lists the declared parameters, sorted.
func (s *parametersSchema) names() []string {
	return slices.Sorted(maps.Keys(s.properties))
}
