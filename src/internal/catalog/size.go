package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// unitBytes are the memory units of the original schema, in either case. The ancestor
// multiplied `g` by 1014*1024, which made "1g" about 1 MB: here a g is 1024³ bytes.
var unitBytes = map[string]int64{"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

// parseSize reads a byte size such as "512m", "1G" or "1048576" (plain numbers are bytes).
func parseSize(text string) (int64, error) {
	text = strings.TrimSpace(text)
	digits := strings.TrimLeft(text, "-0123456789")
	number, unit := text[:len(text)-len(digits)], digits
	if number == "" || number == "-" {
		return 0, fmt.Errorf("%q: not a size such as \"512m\" or \"1g\"", text)
	}
	multiplier := int64(1)
	if unit != "" {
		if unit[0] == '.' {
			return 0, fmt.Errorf("%q: must be a whole number of b, k, m or g", text)
		}
		m, known := unitBytes[strings.ToLower(unit)]
		if !known {
			return 0, fmt.Errorf("%q: unknown unit, use b, k, m or g", text)
		}
		multiplier = m
	}
	n, err := strconv.ParseInt(number, 10, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q: too large", text)
		}
		return 0, fmt.Errorf("%q: not a size such as \"512m\" or \"1g\"", text)
	}
	if n > math.MaxInt64/multiplier || n < math.MinInt64/multiplier {
		return 0, fmt.Errorf("%q: too large", text)
	}
	return n * multiplier, nil
}

// sizeAt reads a byte size written as a JSON number or as a string with a unit.
func (r *reader) sizeAt(path string, raw json.RawMessage) (int64, bool) {
	text, ok := r.numberTextAt(path, raw)
	if !ok {
		return 0, false
	}
	n, err := parseSize(text)
	if err != nil {
		r.problem(path, "%v", err)
		return 0, false
	}
	return n, true
}
