package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// errTooLarge is returned by decodeBody for a body over MaxBodyBytes.
var errTooLarge = errors.New("request body too large")

// errNotJSON is returned by decodeBody for a body whose Content-Type is not
// application/json: a browser sends text/plain and form types cross-site
// without asking, so parsing them as JSON would let any page post here.
var errNotJSON = errors.New("request body is not application/json")

// isJSON reports whether a Content-Type is application/json (parameters such as charset aside).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// decodeBody decodes a JSON object into v, refusing unknown fields and
// anything after the object. It returns a fieldError saying what is wrong, or errTooLarge.
func decodeBody(r *http.Request, v any, allowEmpty bool) (*fieldError, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return &fieldError{Field: "body", Detail: "could not read the body"}, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		if allowEmpty {
			return nil, nil
		}
		return &fieldError{Field: "body", Detail: "the body is empty; a JSON object is expected"}, nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, errNotJSON
	}
	if field, bad := invalidUTF8Field(body); bad {
		return &fieldError{Field: field, Detail: "is not valid UTF-8"}, nil
	}
	if trimmed[0] != '{' {
		return &fieldError{Field: "body", Detail: "must be a JSON object"}, nil
	}
	if fe := exactKeys(body, v); fe != nil {
		return fe, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err), nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return &fieldError{Field: "body", Detail: "the body must hold a single JSON object"}, nil
	}
	return nil, nil
}

// decodeNested decodes raw, a value inside the body at the JSON path field,
// into v, refusing unknown fields; the fieldError it returns is named from field.
func decodeNested(raw json.RawMessage, v any, field string) *fieldError {
	if fe := exactKeys(raw, v); fe != nil {
		fe.Field = field + "." + fe.Field
		return fe
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fe := jsonError(err)
		if fe.Field == "body" {
			fe.Field = field
		} else {
			fe.Field = field + "." + fe.Field
		}
		return fe
	}
	return nil
}

// exactKeys checks the keys of the JSON object in raw against the json tags of
// the struct v points to, exactly: encoding/json matches keys without regard to
// case and lets a repeated key win silently, which would accept
// {"CUSTOMER_ID": ...} or two customer_ids. Anything that is not an object is
// left to the decoder to report.
//
// A body whose keys are all known and unique (every valid request) is checked
// by a scan that allocates nothing; anything else takes the decoder's walk,
// which names the key at fault.
func exactKeys(raw []byte, v any) *fieldError {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	names := jsonNames(t)
	if keysClean(raw, names) {
		return nil
	}
	return keyFault(raw, names)
}

// keyFault walks the object in raw with the decoder and names the first key
// that is not among names or comes twice; nil when there is none or raw is not
// an object (the decoder then says what is wrong).
func keyFault(raw []byte, names []string) *fieldError {
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		switch {
		case !known[key]:
			return &fieldError{Field: key, Detail: "unknown field (names are case-sensitive)"}
		case seen[key]:
			return &fieldError{Field: key, Detail: "appears more than once"}
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// jsonNameCache holds the JSON names of the fields of each struct type decoded.
var jsonNameCache sync.Map // reflect.Type → []string

// jsonNames returns the JSON names of the fields of the struct type t.
func jsonNames(t reflect.Type) []string {
	if names, ok := jsonNameCache.Load(t); ok {
		return names.([]string) //nolint:forcetypeassert // only []string is stored
	}
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	jsonNameCache.Store(t, names)
	return names
}

// keysClean reports whether raw is a JSON object whose keys are all among
// names, none twice. It reads the structure only (strings, nesting), not the
// values, and answers false for whatever it does not take apart itself (a key
// with an escape, a malformed body): exactKeys then asks the decoder, which
// sees the same keys in a valid prefix and so can only find a fault where
// this finds none if there is one.
func keysClean(raw []byte, names []string) bool {
	if len(names) > 64 {
		return false
	}
	var seen uint64
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		end := i + 1
		for end < len(raw) && raw[end] != '"' {
			if raw[end] == '\\' || raw[end] < 0x20 {
				return false
			}
			end++
		}
		if end >= len(raw) {
			return false
		}
		k := slices.Index(names, string(raw[i+1:end]))
		if k < 0 || seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		i = skipSpace(raw, end+1)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		var ok bool
		if i, ok = skipValue(raw, skipSpace(raw, i+1)); !ok {
			return false
		}
		i = skipSpace(raw, i)
		switch {
		case i >= len(raw):
			return false
		case raw[i] == '}':
			return true
		case raw[i] != ',':
			return false
		}
		i = skipSpace(raw, i+1)
	}
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value that starts at i,
// following strings and nesting only.
func skipValue(raw []byte, i int) (int, bool) {
	depth := 0
	for i < len(raw) {
		switch c := raw[i]; c {
		case '"':
			i++
			for i < len(raw) && raw[i] != '"' {
				if raw[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(raw) {
				return 0, false
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, true // the end of the object holding a scalar
			}
			depth--
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, true
			}
		}
		i++
		if depth == 0 && (raw[i-1] == '"' || raw[i-1] == '}' || raw[i-1] == ']') {
			return i, true
		}
	}
	return 0, false
}

func jsonError(err error) *fieldError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &fieldError{Field: "body", Detail: fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, syntax)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return &fieldError{Field: field, Detail: fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &fieldError{Field: "body", Detail: "malformed JSON: unexpected end of input"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &fieldError{Field: name, Detail: "unknown field"}
	}
	return &fieldError{Field: "body", Detail: "malformed JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "int", "int64":
		return "an integer"
	}
	return "a " + goKind
}

// rawString reads a JSON string field; missing or null is ok=false with no error.
func rawString(raw json.RawMessage) (s string, present bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if plainString(raw) {
		return string(raw[1 : len(raw)-1]), true, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, errors.New("must be a string")
	}
	return s, true, nil
}

// plainString reports whether raw is a JSON string without escapes or control
// characters, whose value is its bytes between the quotes (the body's UTF-8
// is checked before).
func plainString(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	for _, c := range raw[1 : len(raw)-1] {
		if c == '"' || c == '\\' || c < 0x20 {
			return false
		}
	}
	return true
}

// rawInt reads a JSON integer field within [min, max].
func rawInt(raw json.RawMessage, min, max int) (int, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < int64(min) || n > int64(max) {
		return 0, true, fmt.Errorf("must be an integer from %d to %d", min, max)
	}
	return int(n), true, nil
}

// invalidUTF8Field names the JSON field (a key or a string value) holding
// bytes that are not UTF-8, which encoding/json would silently replace with
// U+FFFD, turning two different ids into one; "body" when it is elsewhere.
func invalidUTF8Field(body []byte) (string, bool) {
	if utf8.Valid(body) {
		return "", false
	}
	type frame struct {
		object  bool
		key     string
		index   int
		wantKey bool
	}
	var stack []*frame
	path := func(extraKey string) string {
		var b strings.Builder
		for _, f := range stack {
			switch {
			case f.object && !f.wantKey:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(f.key)
			case !f.object:
				fmt.Fprintf(&b, "[%d]", f.index)
			}
		}
		if extraKey != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(extraKey)
		}
		if b.Len() == 0 {
			return "body"
		}
		return b.String()
	}
	advance := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.wantKey = true
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "body", true
		}
		raw := body[start:dec.InputOffset()]
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				advance()
			}
		case string:
			if top != nil && top.object && top.wantKey {
				if !utf8.Valid(raw) {
					// A key cannot name itself: name the object holding it.
					return path(""), true
				}
				top.key, top.wantKey = t, false
				continue
			}
			if !utf8.Valid(raw) {
				return path(""), true
			}
			advance()
		default:
			advance()
		}
	}
}
