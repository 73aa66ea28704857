package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cloudfoundry-community/docker-broker/src/internal/config"
)

// ValidateParameters checks the parameters of a provision (or, when update is true, of an
// update) against the plan's schemas.service_instance.create.parameters (or .update.parameters).
// The schema is an allow-list: parameters it does not declare are refused, and a plan without
// one accepts none, because parameters become environment variables of the container. The
// error is a config.Errors whose paths are the parameter names.
func (p Plan) ValidateParameters(params map[string]any, update bool) error {
	var schema *parametersSchema
	if !isAbsent(p.Schemas) {
		r := &reader{}
		schemas := readSchemas(r, "schemas", p.Schemas, reservedEnvNames(p.Credentials))
		if err := r.errs.Err(); err != nil {
			return fmt.Errorf("the plan's schemas are invalid, so no parameter can be checked:\n%w", err)
		}
		schema = schemas.create
		if update {
			schema = schemas.update
		}
	}
	if schema == nil {
		switch {
		case len(params) == 0:
			return nil
		case update:
			return errors.New("this plan accepts no parameters on update; the operator declares them in the plan's schemas")
		default:
			return errors.New("this plan accepts no parameters; the operator declares them in the plan's schemas")
		}
	}
	var errs config.Errors
	for _, name := range slices.Sorted(maps.Keys(params)) {
		property, declared := schema.properties[name]
		if !declared {
			errs.Add(name, "not a parameter of this plan, which accepts: %s", strings.Join(schema.names(), ", "))
			continue
		}
		if problem := property.check(params[name]); problem != "" {
			errs.Add(name, "%s", problem)
		}
	}
	for _, name := range schema.required {
		if _, given := params[name]; !given {
			errs.Add(name, "required")
		}
	}
	return errs.Err()
}

// check returns what is wrong with value, or "".
func (s propertySchema) check(value any) string {
	if !hasType(s.typ, value) {
		return "must be " + parameterTypes[s.typ]
	}
	if len(s.enum) > 0 && !slices.ContainsFunc(s.enum, func(allowed any) bool { return sameValue(allowed, value) }) {
		return "must be one of " + formatValues(s.enum)
	}
	if s.typ == "string" {
		text := value.(string)
		length := utf8.RuneCountInString(text)
		switch {
		case s.minLength != nil && length < *s.minLength:
			return fmt.Sprintf("must be at least %d characters long", *s.minLength)
		case s.maxLength != nil && length > *s.maxLength:
			return fmt.Sprintf("must be at most %d characters long", *s.maxLength)
		case s.pattern != nil && !s.pattern.MatchString(text):
			return fmt.Sprintf("must match %s", s.pattern)
		}
		return ""
	}
	if n, numeric := toFloat(value); numeric {
		switch {
		case s.minimum != nil && n < *s.minimum:
			return fmt.Sprintf("must be at least %v", *s.minimum)
		case s.maximum != nil && n > *s.maximum:
			return fmt.Sprintf("must be at most %v", *s.maximum)
		}
	}
	return ""
}

// hasType says whether a decoded JSON value is of a supported schema type.
func hasType(typ string, value any) bool {
	switch typ {
	case "string":
		_, ok := value.(string)
		return ok
	case "boolean":
		_, ok := value.(bool)
		return ok
	case "number":
		_, ok := toFloat(value)
		return ok
	case "integer":
		n, ok := toFloat(value)
		return ok && n == math.Trunc(n)
	}
	return false
}

// toFloat reads a number as encoding/json decodes it (float64, or json.Number with
// UseNumber), or as a Go caller writes it.
func toFloat(value any) (float64, bool) {
	switch n := value.(type) {
	case float64:
		return n, !math.IsInf(n, 0) && !math.IsNaN(n)
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// sameValue compares two scalars, numbers by value whatever their Go type.
func sameValue(a, b any) bool {
	x, aNumeric := toFloat(a)
	y, bNumeric := toFloat(b)
	if aNumeric || bNumeric {
		return aNumeric && bNumeric && x == y
	}
	return a == b
}

func formatValues(values []any) string {
	texts := make([]string, len(values))
	for i, v := range values {
		text, _ := json.Marshal(v)
		texts[i] = string(text)
	}
	return strings.Join(texts, ", ")
}
