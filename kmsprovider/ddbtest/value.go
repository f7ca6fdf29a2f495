package ddbtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of the real service.
const (
	maxItemSize    = 400 * 1024 // bytes of one item, names included
	maxDepth       = 32         // nesting of lists and maps
	maxDigits      = 38         // significant digits of a number
	maxHashKeyLen  = 2048       // bytes of a partition key value
	maxRangeKeyLen = 1024       // bytes of a sort key value
)

// A value is one DynamoDB AttributeValue. Numbers are kept in the canonical
// form DynamoDB returns them in ("1.5" for "001.50", "1000" for "1e3"), and
// binary values as the raw bytes in a string.
type value struct {
	t   string            // "S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL" or "BOOL"
	s   string            // S, N, B
	set []string          // SS, NS, BS, in the order given
	m   map[string]*value // M
	l   []*value          // L
	b   bool              // BOOL
}

// typeNames are the data type descriptors, as attribute_type takes them.
var typeNames = []string{"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}

func (v *value) UnmarshalJSON(data []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return serialization("an AttributeValue must be an object: " + err.Error())
	}
	if fields == nil {
		return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	set := 0
	for name, raw := range fields {
		if !isTypeName(name) {
			return serialization("unknown AttributeValue member " + quote(name))
		}
		if string(raw) == "null" {
			continue
		}
		set++
		v.t = name
	}
	switch {
	case set == 0:
		return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	case set > 1:
		return validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	raw := fields[v.t]
	switch v.t {
	case "S":
		return decodeJSON(raw, &v.s)
	case "N":
		var n string
		if err := decodeJSON(raw, &n); err != nil {
			return err
		}
		c, err := canonicalNumber(n)
		v.s = c
		return err
	case "B":
		var b []byte
		err := decodeJSON(raw, &b)
		v.s = string(b)
		return err
	case "SS", "NS", "BS":
		return v.decodeSet(raw)
	case "M":
		if err := decodeJSON(raw, &v.m); err != nil {
			return err
		}
		if v.m == nil {
			v.m = map[string]*value{}
		}
		for _, e := range v.m {
			if e == nil {
				return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
			}
		}
		return nil
	case "L":
		if err := decodeJSON(raw, &v.l); err != nil {
			return err
		}
		if v.l == nil {
			v.l = []*value{}
		}
		for _, e := range v.l {
			if e == nil {
				return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
			}
		}
		return nil
	case "NULL":
		if err := decodeJSON(raw, &v.b); err != nil {
			return err
		}
		if !v.b {
			return validation("One or more parameter values were invalid: Null attribute value types must have the value of true")
		}
		return nil
	default: // BOOL
		return decodeJSON(raw, &v.b)
	}
}

func (v *value) decodeSet(raw json.RawMessage) error {
	kind := map[string]string{"SS": "string", "NS": "number", "BS": "binary"}[v.t]
	if v.t == "BS" {
		var bs [][]byte
		if err := decodeJSON(raw, &bs); err != nil {
			return err
		}
		for _, b := range bs {
			v.set = append(v.set, string(b))
		}
	} else if err := decodeJSON(raw, &v.set); err != nil {
		return err
	}
	if len(v.set) == 0 {
		return validation("One or more parameter values were invalid: An " + kind + " set  may not be empty")
	}
	if v.t == "NS" {
		for i, n := range v.set {
			c, err := canonicalNumber(n)
			if err != nil {
				return err
			}
			v.set[i] = c
		}
	}
	seen := make(map[string]bool, len(v.set))
	for _, e := range v.set {
		if seen[e] {
			return validation("One or more parameter values were invalid: Input collection contains duplicates")
		}
		seen[e] = true
	}
	return nil
}

func decodeJSON(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return serialization(err.Error())
	}
	return nil
}

func isTypeName(s string) bool {
	for _, t := range typeNames {
		if s == t {
			return true
		}
	}
	return false
}

func (v *value) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	v.appendJSON(&b)
	return b.Bytes(), nil
}

func (v *value) appendJSON(b *bytes.Buffer) {
	b.WriteString(`{"` + v.t + `":`)
	switch v.t {
	case "S", "N":
		writeJSON(b, v.s)
	case "B":
		writeJSON(b, base64.StdEncoding.EncodeToString([]byte(v.s)))
	case "SS", "NS":
		writeJSON(b, v.set)
	case "BS":
		enc := make([]string, len(v.set))
		for i, e := range v.set {
			enc[i] = base64.StdEncoding.EncodeToString([]byte(e))
		}
		writeJSON(b, enc)
	case "M":
		writeItem(b, v.m)
	case "L":
		b.WriteByte('[')
		for i, e := range v.l {
			if i > 0 {
				b.WriteByte(',')
			}
			e.appendJSON(b)
		}
		b.WriteByte(']')
	case "NULL", "BOOL":
		writeJSON(b, v.b)
	}
	b.WriteByte('}')
}

// writeItem writes a map of attribute values with its names sorted, so that
// responses are deterministic.
func writeItem(b *bytes.Buffer, m map[string]*value) {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, n)
		b.WriteByte(':')
		m[n].appendJSON(b)
	}
	b.WriteByte('}')
}

func writeJSON(b *bytes.Buffer, v any) {
	out, _ := json.Marshal(v) // strings, bools and string slices cannot fail
	b.Write(out)
}

// An item is a map of attribute values that marshals with sorted names.
type item map[string]*value

func (it item) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	writeItem(&b, it)
	return b.Bytes(), nil
}

var numberRE = regexp.MustCompile(`^\s*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$`)

// canonicalNumber checks a DynamoDB number (up to 38 significant digits,
// magnitude from 1e-130 to below 1e126) and returns it in plain decimal
// notation without superfluous zeros, as DynamoDB stores it.
func canonicalNumber(n string) (string, error) {
	bad := validation("A value provided cannot be converted into a number")
	m := numberRE.FindStringSubmatch(n)
	if m == nil || m[2]+m[3] == "" || len(n) > 512 {
		return "", bad
	}
	digits := m[2] + m[3]
	exp := -len(m[3]) // value = digits × 10^exp
	if m[4] != "" {
		if len(m[4]) > 6 {
			return "", bad
		}
		var e big.Int
		e.SetString(m[4], 10)
		exp += int(e.Int64())
	}
	trimmed := strings.TrimLeft(digits, "0")
	if trimmed == "" {
		return "0", nil
	}
	t2 := strings.TrimRight(trimmed, "0")
	exp += len(trimmed) - len(t2)
	digits = t2
	if len(digits) > maxDigits {
		return "", validation("Attempting to store more than 38 significant digits in a Number")
	}
	// The magnitude is in [10^(exp+len-1), 10^(exp+len)).
	switch mag := exp + len(digits) - 1; {
	case mag >= 126:
		return "", validation("Number overflow. Attempting to store a number with magnitude larger than supported range")
	case mag < -130:
		return "", validation("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	var s string
	switch {
	case exp >= 0:
		s = digits + strings.Repeat("0", exp)
	case -exp < len(digits):
		s = digits[:len(digits)+exp] + "." + digits[len(digits)+exp:]
	default:
		s = "0." + strings.Repeat("0", -exp-len(digits)) + digits
	}
	if m[1] == "-" {
		s = "-" + s
	}
	return s, nil
}

func compareNumbers(a, b string) int {
	var x, y big.Rat
	x.SetString(a)
	y.SetString(b)
	return x.Cmp(&y)
}

// equal reports whether two values are equal as DynamoDB compares them:
// same type, and sets equal whatever their order.
func (v *value) equal(w *value) bool {
	if v.t != w.t {
		return false
	}
	switch v.t {
	case "S", "N", "B":
		return v.s == w.s
	case "BOOL", "NULL":
		return v.b == w.b
	case "SS", "NS", "BS":
		if len(v.set) != len(w.set) {
			return false
		}
		in := make(map[string]bool, len(v.set))
		for _, e := range v.set {
			in[e] = true
		}
		for _, e := range w.set {
			if !in[e] {
				return false
			}
		}
		return true
	case "M":
		if len(v.m) != len(w.m) {
			return false
		}
		for k, e := range v.m {
			f, ok := w.m[k]
			if !ok || !e.equal(f) {
				return false
			}
		}
		return true
	case "L":
		if len(v.l) != len(w.l) {
			return false
		}
		for i := range v.l {
			if !v.l[i].equal(w.l[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// compare orders two scalars of the same type (S and B byte-wise, N
// numerically); ok is false for any other pair.
func (v *value) compare(w *value) (c int, ok bool) {
	if v.t != w.t {
		return 0, false
	}
	switch v.t {
	case "S", "B":
		return strings.Compare(v.s, w.s), true
	case "N":
		return compareNumbers(v.s, w.s), true
	}
	return 0, false
}

// size is the value's size as DynamoDB counts it towards the item limit.
func (v *value) size() int {
	switch v.t {
	case "S", "B":
		return len(v.s)
	case "N":
		return numberSize(v.s)
	case "SS", "BS":
		n := 0
		for _, e := range v.set {
			n += len(e)
		}
		return n
	case "NS":
		n := 0
		for _, e := range v.set {
			n += numberSize(e)
		}
		return n
	case "M":
		n := 3
		for k, e := range v.m {
			n += len(k) + e.size() + 1
		}
		return n
	case "L":
		n := 3
		for _, e := range v.l {
			n += e.size() + 1
		}
		return n
	}
	return 1 // NULL, BOOL
}

// numberSize approximates DynamoDB's size of a number: one byte per two
// significant digits, plus one.
func numberSize(n string) int {
	d := strings.Trim(strings.NewReplacer("-", "", ".", "").Replace(n), "0")
	return (len(d)+1)/2 + 1
}

func itemSize(it map[string]*value) int {
	n := 0
	for k, v := range it {
		n += len(k) + v.size()
	}
	return n
}

// depth is how deeply lists and maps nest in v (1 for a scalar).
func (v *value) depth() int {
	d := 0
	for _, e := range v.m {
		d = max(d, e.depth())
	}
	for _, e := range v.l {
		d = max(d, e.depth())
	}
	return d + 1
}

// checkItem applies the limits of the service to the attributes of an item
// (or of a key): names are non-empty, nesting is at most 32 deep, and the
// item is at most 400 KB.
func checkItem(it map[string]*value) *apiError {
	for k, v := range it {
		if k == "" {
			return validation("One or more parameter values were invalid: An AttributeValue may not contain an empty attribute name")
		}
		if v == nil {
			return validation("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
		}
		if v.depth() > maxDepth {
			return validation("Nesting Levels have exceeded supported limits")
		}
	}
	if itemSize(it) > maxItemSize {
		return validation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

func quote(s string) string {
	if !utf8.ValidString(s) || len(s) > 256 {
		if len(s) > 256 {
			s = s[:256]
		}
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	out, _ := json.Marshal(s)
	return string(out)
}
