package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// errTooLarge is returned by decodeBody for a body over MaxBodyBytes.
var errTooLarge = errors.New("request body too large")

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
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil, nil
		}
		return &fieldError{Field: "body", Detail: "the body is empty; a JSON object is expected"}, nil
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
func exactKeys(raw []byte, v any) *fieldError {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			known[name] = true
		}
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
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, errors.New("must be a string")
	}
	return s, true, nil
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
