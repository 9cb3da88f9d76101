package messages

import (
	"fmt"
	"slices"
)

// Limits of the order contract, checked by the gateway (with a 400 naming the
// field) and again by the services (a message breaking them is poisoned).
const (
	MaxItems            = 100
	MinQuantity         = 1
	MaxQuantity         = 10000
	MaxSKULength        = 64
	MaxCustomerIDLength = 128
	MaxReasonLength     = 500
	MaxOnHand           = 1_000_000_000
	MaxListLimit        = 100
	DefaultListLimit    = 20
)

// ValidSKU reports whether s can name a SKU: 1 to MaxSKULength characters out of
// letters, digits, '-', '_' and '.', so that it is safe in a URL path and a document key.
func ValidSKU(s string) bool {
	if len(s) == 0 || len(s) > MaxSKULength {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// The rules of the order contract, written once: the gateway names the field
// of each one a request breaks (a 400), the services refuse a message that
// breaks one (poison). Each returns what is wrong, in words read after the
// field's JSON name, or "" when the value is fine.

// QuantityDetail is what is wrong with a quantity that breaks the rule.
var QuantityDetail = fmt.Sprintf("must be an integer from %d to %d", MinQuantity, MaxQuantity)

// DuplicateSKUDetail is what is wrong with an item whose SKU an earlier item has.
const DuplicateSKUDetail = "appears more than once; put the whole quantity on one item"

// CheckCustomerID checks a customer id.
func CheckCustomerID(id string) string {
	switch {
	case id == "":
		return "is required and must not be empty"
	case len(id) > MaxCustomerIDLength:
		return fmt.Sprintf("must be at most %d characters", MaxCustomerIDLength)
	}
	return ""
}

// CheckItemCount checks how many items an order has.
func CheckItemCount(n int) string {
	switch {
	case n == 0:
		return "must not be empty: an order has at least one item"
	case n > MaxItems:
		return fmt.Sprintf("must have at most %d items, not %d", MaxItems, n)
	}
	return ""
}

// CheckSKU checks the SKU of an item.
func CheckSKU(sku string) string {
	switch {
	case sku == "":
		return "is required and must not be empty"
	case len(sku) > MaxSKULength:
		return fmt.Sprintf("must be at most %d characters", MaxSKULength)
	case !ValidSKU(sku):
		return "may hold only letters, digits, '-', '_' and '.'"
	}
	return ""
}

// CheckQuantity checks the quantity of an item.
func CheckQuantity(n int) string {
	if n < MinQuantity || n > MaxQuantity {
		return QuantityDetail
	}
	return ""
}

// OnHandDetail is what is wrong with an on-hand stock that breaks the rule.
var OnHandDetail = fmt.Sprintf("must be an integer from 0 to %d", MaxOnHand)

// CheckOnHand checks the on-hand stock of a product.
func CheckOnHand(n int) string {
	if n < 0 || n > MaxOnHand {
		return OnHandDetail
	}
	return ""
}

// CheckReason checks the length of a reason (optional where the API takes one).
func CheckReason(reason string) string {
	if len(reason) > MaxReasonLength {
		return fmt.Sprintf("must be at most %d characters", MaxReasonLength)
	}
	return ""
}

// Violation is a field that breaks a rule: Field is its JSON path
// ("items[2].sku"), Detail what is wrong.
type Violation struct {
	Field, Detail string
}

func (v Violation) String() string { return v.Field + " " + v.Detail }

// CheckItems checks the items of an order, every one: the count, then each
// item's SKU (a repeated SKU is refused on every item after the first) and
// quantity. fields reads an item's SKU and quantity, so that each layer passes
// its own item type. It allocates only for what it reports (and its set of SKUs).
func CheckItems[I any](items []I, fields func(I) (sku string, quantity int)) []Violation {
	var out []Violation
	if d := CheckItemCount(len(items)); d != "" {
		return append(out, Violation{"items", d})
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		sku, qty := fields(it)
		switch d := CheckSKU(sku); {
		case d != "":
			out = append(out, Violation{fmt.Sprintf("items[%d].sku", i), d})
		case seen[sku]:
			out = append(out, Violation{fmt.Sprintf("items[%d].sku", i), DuplicateSKUDetail})
		default:
			seen[sku] = true
		}
		if d := CheckQuantity(qty); d != "" {
			out = append(out, Violation{fmt.Sprintf("items[%d].quantity", i), d})
		}
	}
	return out
}

// OrderStatuses are the statuses of an order, in lifecycle order.
var OrderStatuses = []string{
	OrderStatusPending, OrderStatusConfirmed, OrderStatusRejected, OrderStatusCancelled,
	OrderStatusShipped, OrderStatusDelivered, OrderStatusDeliveryFailed,
}

// ValidOrderStatus reports whether s names an order status.
func ValidOrderStatus(s string) bool { return slices.Contains(OrderStatuses, s) }
