package messages

// The standard library only, as the rest of messages (depguard): no testify.

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckItems(t *testing.T) {
	t.Parallel()
	item := func(sku string, qty int) Item { return Item{SKU: sku, Quantity: qty} }
	many := make([]Item, MaxItems+1)
	cases := []struct {
		name  string
		items []Item
		want  []string
	}{
		{name: "valid", items: []Item{item("SKU-1", 1), item("mug.blue", MaxQuantity)}},
		{name: "none", want: []string{"items"}},
		{name: "too many, and nothing else said", items: many, want: []string{"items"}},
		{name: "empty SKU", items: []Item{item("", 1)}, want: []string{"items[0].sku"}},
		{name: "SKU too long", items: []Item{item(strings.Repeat("s", MaxSKULength+1), 1)}, want: []string{"items[0].sku"}},
		{name: "SKU with a slash", items: []Item{item("a/b", 1)}, want: []string{"items[0].sku"}},
		{name: "repeated SKU on the later item", items: []Item{item("a", 1), item("b", 1), item("a", 2)}, want: []string{"items[2].sku"}},
		{name: "an invalid SKU wins nothing", items: []Item{item("a b", 1), item("a b", 1)}, want: []string{"items[0].sku", "items[1].sku"}},
		{name: "quantity 0", items: []Item{item("a", 0)}, want: []string{"items[0].quantity"}},
		{name: "quantity over the max", items: []Item{item("a", MaxQuantity+1)}, want: []string{"items[0].quantity"}},
		{name: "every fault", items: []Item{item("a", 1), item("", -1)}, want: []string{"items[1].sku", "items[1].quantity"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range CheckItems(tc.items, func(it Item) (string, int) { return it.SKU, it.Quantity }) {
				if v.Detail == "" {
					t.Errorf("%s: no detail", v.Field)
				}
				got = append(got, v.Field)
			}
			if !slices.Equal(tc.want, got) {
				t.Errorf("fields %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		check func(string) string
		value string
		ok    bool
	}{
		{"customer id", CheckCustomerID, "c-1", true},
		{"empty customer id", CheckCustomerID, "", false},
		{"customer id too long", CheckCustomerID, strings.Repeat("c", MaxCustomerIDLength+1), false},
		{"on hand 0", func(s string) string { return CheckOnHand(len(s)) }, "", true},
		{"on hand over the max", func(string) string { return CheckOnHand(MaxOnHand + 1) }, "", false},
		{"on hand below 0", func(string) string { return CheckOnHand(-1) }, "", false},
		{"empty reason", CheckReason, "", true},
		{"reason at the max", CheckReason, strings.Repeat("r", MaxReasonLength), true},
		{"reason too long", CheckReason, strings.Repeat("r", MaxReasonLength+1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.check(tc.value); (got == "") != tc.ok {
				t.Errorf("check(%.20q) = %q, want ok=%v", tc.value, got, tc.ok)
			}
		})
	}
}

func TestValidOrderStatus(t *testing.T) {
	t.Parallel()
	for _, s := range OrderStatuses {
		if !ValidOrderStatus(s) {
			t.Errorf("%s is not valid", s)
		}
	}
	for _, s := range []string{"", "pending", "LOST"} {
		if ValidOrderStatus(s) {
			t.Errorf("%q is valid", s)
		}
	}
}
