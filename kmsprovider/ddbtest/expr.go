package ddbtest

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Expressions: condition expressions (also used for FilterExpression and, with
// a narrower shape, KeyConditionExpression) and projection expressions, in
// DynamoDB's grammar:
//
//	condition := operand comparator operand
//	           | operand BETWEEN operand AND operand
//	           | operand IN ( operand {, operand} )
//	           | function ( operand {, operand} )
//	           | condition AND condition | condition OR condition
//	           | NOT condition | ( condition )
//	operand   := path | :value | size ( path )
//	path      := name {. name | [ digits ]}     name := identifier | #name
//
// with NOT binding tighter than AND, and AND tighter than OR. Keywords are
// case-insensitive; function names are not. A bare identifier may not be a
// reserved word, and may hold letters, digits and underscores only (so
// "branch-key-id" must be written through an expression attribute name).
// Whatever does not parse is a ValidationException: no expression is ever
// taken as true because it was not understood.

const maxExprLen = 4096 // bytes of one expression, DynamoDB's limit

type pathElem struct {
	name  string // attribute or map key; "" for a list index
	index int
}

type path []pathElem

func (p path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case e.name == "":
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		case i > 0:
			b.WriteString("." + e.name)
		default:
			b.WriteString(e.name)
		}
	}
	return b.String()
}

// An operand is a path, a value from ExpressionAttributeValues, or size(path).
type operand struct {
	path  path
	val   *value // a :value
	size  bool   // size(path)
	label string // as written, for messages
}

// A cond is one node of a parsed condition.
type cond struct {
	op    string // "AND", "OR", "NOT", "=", "<>", "<", "<=", ">", ">=", "BETWEEN", "IN", or a function name
	kids  []*cond
	args  []operand
	paren bool // written in parentheses: ((x)) is refused as redundant
}

type token struct {
	kind string // "name", "#name", ":value", "num", "punct", "end"
	text string
	pos  int
}

type parser struct {
	what   string // "ConditionExpression", ...
	src    string
	toks   []token
	i      int
	names  map[string]string
	values map[string]*value
	used   *usage
}

// usage records the expression attribute names and values that a request's
// expressions used, to refuse unused ones as DynamoDB does.
type usage struct {
	names  map[string]bool
	values map[string]bool
}

func newUsage() *usage {
	return &usage{names: map[string]bool{}, values: map[string]bool{}}
}

func (p *parser) fail(msg string) error {
	return validation("Invalid " + p.what + ": " + msg)
}

func (p *parser) syntax(t token) error {
	text := t.text
	if t.kind == "end" {
		text = "<EOF>"
	}
	near := p.src[max(0, t.pos-10):min(len(p.src), t.pos+len(t.text)+10)]
	return p.fail("Syntax error; token: " + quote(text) + ", near: " + quote(near))
}

func tokenize(what, src string) ([]token, error) {
	if len(src) > maxExprLen {
		return nil, validation("Invalid " + what + ": The expression can not be longer than 4096 bytes")
	}
	var toks []token
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && isWord(src[j]) {
				j++
			}
			if j == i+1 {
				return nil, syntaxAt(what, src, i)
			}
			kind := "#name"
			if c == ':' {
				kind = ":value"
			}
			toks = append(toks, token{kind, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j < len(src) && isWord(src[j]) {
				return nil, syntaxAt(what, src, i) // a name may not start with a digit
			}
			toks = append(toks, token{"num", src[i:j], i})
			i = j
		case isWord(c):
			j := i
			for j < len(src) && isWord(src[j]) {
				j++
			}
			toks = append(toks, token{"name", src[i:j], i})
			i = j
		case strings.HasPrefix(src[i:], "<>") || strings.HasPrefix(src[i:], "<=") || strings.HasPrefix(src[i:], ">="):
			toks = append(toks, token{"punct", src[i : i+2], i})
			i += 2
		case strings.IndexByte("()[],.=<>", c) >= 0:
			toks = append(toks, token{"punct", src[i : i+1], i})
			i++
		default:
			return nil, syntaxAt(what, src, i)
		}
	}
	return append(toks, token{"end", "", len(src)}), nil
}

func syntaxAt(what, src string, i int) error {
	_, n := utf8.DecodeRuneInString(src[i:])
	near := src[max(0, i-10):min(len(src), i+n+10)]
	return validation("Invalid " + what + ": Syntax error; token: " + quote(src[i:i+n]) + ", near: " + quote(near))
}

func newParser(what, src string, names map[string]string, values map[string]*value, used *usage) (*parser, error) {
	if strings.TrimSpace(src) == "" {
		return nil, validation("Invalid " + what + ": The expression can not be empty;")
	}
	toks, err := tokenize(what, src)
	if err != nil {
		return nil, err
	}
	return &parser{what: what, src: src, toks: toks, names: names, values: values, used: used}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != "end" {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == "name" && strings.EqualFold(t.text, word)
}

func (p *parser) expect(punct string) error {
	if t := p.next(); t.kind != "punct" || t.text != punct {
		return p.syntax(t)
	}
	return nil
}

// parseCondition parses a whole condition expression.
func parseCondition(what, src string, names map[string]string, values map[string]*value, used *usage) (*cond, error) {
	p, err := newParser(what, src, names, values, used)
	if err != nil {
		return nil, err
	}
	c, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "end" {
		return nil, p.syntax(t)
	}
	return c, nil
}

// maxNesting bounds parentheses and NOTs, so that a hostile expression
// cannot recurse deeply.
const maxNesting = 100

func (p *parser) or(depth int) (*cond, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("OR") {
		p.next()
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = &cond{op: "OR", kids: []*cond{left, right}}
	}
	return left, nil
}

func (p *parser) and(depth int) (*cond, error) {
	left, err := p.not(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("AND") {
		p.next()
		right, err := p.not(depth)
		if err != nil {
			return nil, err
		}
		left = &cond{op: "AND", kids: []*cond{left, right}}
	}
	return left, nil
}

func (p *parser) not(depth int) (*cond, error) {
	if depth > maxNesting {
		return nil, p.fail("The expression has too many nested parentheses or NOT operators")
	}
	if p.isKeyword("NOT") {
		p.next()
		c, err := p.not(depth + 1)
		if err != nil {
			return nil, err
		}
		return &cond{op: "NOT", kids: []*cond{c}}, nil
	}
	return p.primary(depth)
}

var comparators = map[string]bool{"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true}

// functions maps each function to its number of arguments.
var functions = map[string]int{
	"attribute_exists":     1,
	"attribute_not_exists": 1,
	"attribute_type":       2,
	"begins_with":          2,
	"contains":             2,
	"size":                 1,
}

func (p *parser) primary(depth int) (*cond, error) {
	t := p.peek()
	if t.kind == "punct" && t.text == "(" {
		p.next()
		c, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		if c.paren {
			return nil, p.fail("The expression has redundant parentheses;")
		}
		c.paren = true
		return c, nil
	}
	if t.kind == "name" && p.toks[p.i+1].text == "(" && t.text != "size" {
		return p.function()
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := p.next()
	switch {
	case op.kind == "punct" && comparators[op.text]:
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		c := &cond{op: op.text, args: []operand{left, right}}
		return c, p.checkDistinct(c)
	case op.kind == "name" && strings.EqualFold(op.text, "BETWEEN"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !p.isKeyword("AND") {
			return nil, p.syntax(p.peek())
		}
		p.next()
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		c := &cond{op: "BETWEEN", args: []operand{left, lo, hi}}
		if lo.val != nil && hi.val != nil {
			if lo.val.t != hi.val.t {
				return nil, p.fail("The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {" + lo.val.t + "}, upper bound operand: AttributeValue: {" + hi.val.t + "}")
			}
			if c, _ := lo.val.compare(hi.val); c > 0 {
				return nil, p.fail("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: " + lo.label + ", upper bound operand: " + hi.label)
			}
		}
		return c, nil
	case op.kind == "name" && strings.EqualFold(op.text, "IN"):
		if err := p.expect("("); err != nil {
			return nil, err
		}
		args := []operand{left}
		for {
			o, err := p.operand()
			if err != nil {
				return nil, err
			}
			args = append(args, o)
			if len(args) > 101 {
				return nil, p.fail("The IN operator is provided with too many operands; number of operands: " + strconv.Itoa(len(args)-1))
			}
			if p.peek().text != "," {
				break
			}
			p.next()
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return &cond{op: "IN", args: args}, nil
	}
	return nil, p.syntax(op)
}

func (p *parser) function() (*cond, error) {
	name := p.next().text
	n, ok := functions[name]
	if !ok {
		return nil, p.fail("Invalid function name; function: " + name)
	}
	p.next() // "("
	var args []operand
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		args = append(args, o)
		if p.peek().text != "," {
			break
		}
		p.next()
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	if len(args) != n {
		return nil, p.fail("Incorrect number of operands for operator or function; operator or function: " + name + ", number of operands: " + strconv.Itoa(len(args)))
	}
	if args[0].path == nil || args[0].size {
		return nil, p.fail("Operator or function requires a document path; operator or function: " + name)
	}
	switch name {
	case "attribute_type":
		v := args[1].val
		if v == nil || v.t != "S" {
			return nil, p.fail("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: " + operandType(args[1]))
		}
		if !isTypeName(v.s) {
			return nil, p.fail("Invalid attribute type name found; type: " + v.s + ", valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }")
		}
	case "begins_with":
		if v := args[1].val; v != nil && v.t != "S" && v.t != "B" {
			return nil, p.fail("Incorrect operand type for operator or function; operator or function: begins_with, operand type: " + v.t)
		}
	}
	c := &cond{op: name, args: args}
	return c, p.checkDistinct(c)
}

// checkDistinct refuses, as DynamoDB does, a comparison or function whose
// two operands are the same document path.
func (p *parser) checkDistinct(c *cond) error {
	if len(c.args) != 2 {
		return nil
	}
	a, b := c.args[0], c.args[1]
	if a.path == nil || b.path == nil || a.size || b.size || a.path.String() != b.path.String() {
		return nil
	}
	return p.fail("The first operand must be distinct from the remaining operands for this operator or function; operator: " + c.op + ", first operand: [" + a.path.String() + "]")
}

func operandType(o operand) string {
	if o.val != nil {
		return o.val.t
	}
	return "path"
}

func (p *parser) operand() (operand, error) {
	t := p.peek()
	switch t.kind {
	case ":value":
		p.next()
		v, ok := p.values[t.text]
		if !ok {
			return operand{}, p.fail("An expression attribute value used in expression is not defined; attribute value: " + t.text)
		}
		p.used.values[t.text] = true
		return operand{val: v, label: t.text}, nil
	case "name", "#name":
		if t.kind == "name" && p.toks[p.i+1].text == "(" {
			if t.text != "size" {
				if _, ok := functions[t.text]; ok {
					return operand{}, p.fail("The function is not allowed to be used this way in an expression; function: " + t.text)
				}
				return operand{}, p.fail("Invalid function name; function: " + t.text)
			}
			p.next()
			p.next()
			inner, err := p.operand()
			if err != nil {
				return operand{}, err
			}
			if err := p.expect(")"); err != nil {
				return operand{}, err
			}
			if inner.path == nil || inner.size {
				return operand{}, p.fail("Operator or function requires a document path; operator or function: size")
			}
			return operand{path: inner.path, size: true, label: "size(" + inner.label + ")"}, nil
		}
		pa, err := p.path()
		if err != nil {
			return operand{}, err
		}
		return operand{path: pa, label: p.src[t.pos:p.peek().pos]}, nil
	}
	return operand{}, p.syntax(t)
}

// maxPathElems bounds a document path.
const maxPathElems = 64

func (p *parser) path() (path, error) {
	var pa path
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	pa = append(pa, pathElem{name: name})
	for len(pa) <= maxPathElems {
		switch p.peek().text {
		case ".":
			p.next()
			name, err := p.name()
			if err != nil {
				return nil, err
			}
			pa = append(pa, pathElem{name: name})
		case "[":
			p.next()
			t := p.next()
			if t.kind != "num" {
				return nil, p.syntax(t)
			}
			n, err := strconv.Atoi(t.text)
			if err != nil || n > 1<<20 {
				return nil, p.fail("List index is too large; index: " + t.text)
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			pa = append(pa, pathElem{index: n})
		default:
			return pa, nil
		}
	}
	return nil, p.fail("The document path has too many nesting levels; nesting levels: " + strconv.Itoa(len(pa)))
}

func (p *parser) name() (string, error) {
	t := p.next()
	switch t.kind {
	case "#name":
		n, ok := p.names[t.text]
		if !ok {
			return "", p.fail("An expression attribute name used in the document path is not defined; attribute name: " + t.text)
		}
		p.used.names[t.text] = true
		return n, nil
	case "name":
		if isReserved(t.text) {
			return "", p.fail("Attribute name is a reserved keyword; reserved keyword: " + t.text)
		}
		return t.text, nil
	}
	return "", p.syntax(t)
}

// parseProjection parses a ProjectionExpression: paths separated by commas.
func parseProjection(src string, names map[string]string, used *usage) ([]path, error) {
	p, err := newParser("ProjectionExpression", src, names, nil, used)
	if err != nil {
		return nil, err
	}
	var out []path
	for {
		pa, err := p.path()
		if err != nil {
			return nil, err
		}
		out = append(out, pa)
		t := p.next()
		if t.kind == "end" {
			return out, nil
		}
		if t.text != "," {
			return nil, p.syntax(t)
		}
	}
}

// lookup finds the value at a document path in an item, or nil.
func lookup(it map[string]*value, pa path) *value {
	v := it[pa[0].name]
	for _, e := range pa[1:] {
		if v == nil {
			return nil
		}
		switch {
		case e.name != "" && v.t == "M":
			v = v.m[e.name]
		case e.name == "" && v.t == "L" && e.index < len(v.l):
			v = v.l[e.index]
		default:
			return nil
		}
	}
	return v
}

// eval evaluates a condition against an item (nil or empty when there is
// none).
func (c *cond) eval(it map[string]*value) bool {
	switch c.op {
	case "AND":
		return c.kids[0].eval(it) && c.kids[1].eval(it)
	case "OR":
		return c.kids[0].eval(it) || c.kids[1].eval(it)
	case "NOT":
		return !c.kids[0].eval(it)
	case "attribute_exists":
		return lookup(it, c.args[0].path) != nil
	case "attribute_not_exists":
		return lookup(it, c.args[0].path) == nil
	case "attribute_type":
		v := lookup(it, c.args[0].path)
		return v != nil && v.t == c.args[1].val.s
	case "begins_with":
		v, pre := lookup(it, c.args[0].path), c.args[1].resolve(it)
		return v != nil && pre != nil && v.t == pre.t && (v.t == "S" || v.t == "B") && strings.HasPrefix(v.s, pre.s)
	case "contains":
		v, x := lookup(it, c.args[0].path), c.args[1].resolve(it)
		if v == nil || x == nil {
			return false
		}
		switch v.t {
		case "S", "B":
			return x.t == v.t && strings.Contains(v.s, x.s)
		case "SS", "NS", "BS":
			if x.t != v.t[:1] {
				return false
			}
			for _, e := range v.set {
				if e == x.s {
					return true
				}
			}
		case "L":
			for _, e := range v.l {
				if e.equal(x) {
					return true
				}
			}
		}
		return false
	case "IN":
		a := c.args[0].resolve(it)
		if a == nil {
			return false
		}
		for _, o := range c.args[1:] {
			if b := o.resolve(it); b != nil && a.equal(b) {
				return true
			}
		}
		return false
	case "BETWEEN":
		a, lo, hi := c.args[0].resolve(it), c.args[1].resolve(it), c.args[2].resolve(it)
		if a == nil || lo == nil || hi == nil {
			return false
		}
		c1, ok1 := a.compare(lo)
		c2, ok2 := a.compare(hi)
		return ok1 && ok2 && c1 >= 0 && c2 <= 0
	}
	a, b := c.args[0].resolve(it), c.args[1].resolve(it)
	if a == nil || b == nil {
		// A missing attribute compares as nothing: only <> holds.
		return c.op == "<>"
	}
	switch c.op {
	case "=":
		return a.equal(b)
	case "<>":
		return !a.equal(b)
	}
	n, ok := a.compare(b)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return n < 0
	case "<=":
		return n <= 0
	case ">":
		return n > 0
	default: // ">="
		return n >= 0
	}
}

// walkPaths calls fn with every document path the condition reads.
func (c *cond) walkPaths(fn func(path)) {
	for _, k := range c.kids {
		k.walkPaths(fn)
	}
	for _, a := range c.args {
		if a.path != nil {
			fn(a.path)
		}
	}
}

// resolve gives an operand's value for an item, or nil.
func (o operand) resolve(it map[string]*value) *value {
	if o.val != nil {
		return o.val
	}
	v := lookup(it, o.path)
	if v == nil || !o.size {
		return v
	}
	var n int
	switch v.t {
	case "S":
		n = utf8.RuneCountInString(v.s)
	case "B":
		n = len(v.s)
	case "SS", "NS", "BS":
		n = len(v.set)
	case "M":
		n = len(v.m)
	case "L":
		n = len(v.l)
	default:
		return nil
	}
	return &value{t: "N", s: strconv.Itoa(n)}
}

// checkUsage refuses expression attribute names and values that no
// expression of the request used, as DynamoDB does.
func checkUsage(names map[string]string, values map[string]*value, used *usage) error {
	if unused := unusedKeys(names, used.names); unused != "" {
		return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {" + unused + "}")
	}
	if unused := unusedKeys(values, used.values); unused != "" {
		return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {" + unused + "}")
	}
	return nil
}

func unusedKeys[V any](m map[string]V, used map[string]bool) string {
	var out []string
	for k := range m {
		if !used[k] {
			out = append(out, k)
		}
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}
