package messages

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
