package httpapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// keysClean may only say "clean" where the decoder's walk finds no fault, and
// must say it for the bodies valid requests send.
func TestKeysCleanAgreesWithTheDecoder(t *testing.T) {
	t.Parallel()
	names := []string{"customer_id", "items", "note"}
	tests := []struct {
		name      string
		body      string
		wantClean bool
	}{
		{name: "an order", body: `{"customer_id":"c-1","items":[{"sku":"A","quantity":1}]}`, wantClean: true},
		{name: "spaced out", body: " {\n\t\"customer_id\" : \"c-1\" ,\r\n \"items\" : [ ] } ", wantClean: true},
		{name: "empty object", body: `{}`, wantClean: true},
		{name: "nested keys are not its own", body: `{"items":[{"customer_id":1,"x":{"items":2}}],"note":null}`, wantClean: true},
		{name: "strings with quotes, braces and escapes", body: `{"note":"a \"}\" b \\ {[","customer_id":"c"}`, wantClean: true},
		{name: "scalars", body: `{"customer_id":true,"items":-1.5e3,"note":false}`, wantClean: true},
		{name: "an unknown key", body: `{"customer_id":"c","CUSTOMER_ID":"d"}`},
		{name: "a key twice", body: `{"customer_id":"c","customer_id":"d"}`},
		{name: "an escaped key", body: `{"customer\u005fid":"c"}`},
		{name: "not an object", body: `["customer_id"]`},
		{name: "truncated", body: `{"customer_id":"c`},
		// Malformed, but no key at fault: the decoder reports the syntax.
		{name: "a missing value", body: `{"customer_id":}`, wantClean: true},
		{name: "a missing colon", body: `{"customer_id" "c"}`},
		{name: "garbage after a value", body: `{"customer_id":"c" x}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clean := keysClean([]byte(tc.body), names)
			assert.Equal(t, tc.wantClean, clean)
			if clean {
				assert.Nil(t, keyFault([]byte(tc.body), names), "clean, but the decoder finds a fault")
			}
		})
	}
}

func TestPlainString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		raw  string
		want bool
	}{
		{name: "plain", raw: `"c-1"`, want: true},
		{name: "empty", raw: `""`, want: true},
		{name: "an escape", raw: `"c\n1"`},
		{name: "a number", raw: `12`},
		{name: "unterminated", raw: `"c`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, plainString([]byte(tc.raw)))
			s, present, err := rawString([]byte(tc.raw))
			if tc.want {
				assert.NoError(t, err)
				assert.True(t, present)
				assert.Equal(t, tc.raw[1:len(tc.raw)-1], s)
			}
		})
	}
}

func TestDecodingAValidOrderAllocatesLittle(t *testing.T) {
	body := []byte(`{"customer_id":"c-1","items":[{"sku":"SKU-1","quantity":1}]}`)
	allocs := testing.AllocsPerRun(100, func() {
		_ = exactKeys(body, &placeOrderRequest{})
	})
	assert.Zero(t, allocs)
}
