package orders

import (
	"context"
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/messages"
)

// ConfirmOrder reacts to StockReserved: a PENDING order becomes CONFIRMED.
func (s *Service) ConfirmOrder(ctx context.Context, orderID, correlationID string) error {
	_, err := s.update(ctx, orderID, func(o *Order) error {
		if o.IsNew() {
			return ErrNotFound
		}
		o.Confirm(s.now(), correlationID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirm order %s: %w", orderID, err)
	}
	return nil
}

// RejectOrder reacts to StockReservationFailed: a PENDING order becomes REJECTED
// with a reason naming every SKU that could not be reserved.
func (s *Service) RejectOrder(ctx context.Context, orderID string, failures []messages.LineFailure, correlationID string) error {
	reason := RejectionReason(failures)
	_, err := s.update(ctx, orderID, func(o *Order) error {
		if o.IsNew() {
			return ErrNotFound
		}
		o.Reject(reason, s.now(), correlationID)
		// Inventory holds nothing for a failed reservation: the order's stock
		// is settled, whatever its status (a cancelled order too).
		o.MarkStockSettled()
		return nil
	})
	if err != nil {
		return fmt.Errorf("reject order %s: %w", orderID, err)
	}
	return nil
}

// MarkStockSettled reacts to StockCommitted and StockReleased: inventory
// holds nothing more for the order, so the sweeper stops waiting for it.
func (s *Service) MarkStockSettled(ctx context.Context, orderID string) error {
	_, err := s.update(ctx, orderID, func(o *Order) error {
		if o.IsNew() {
			return ErrNotFound
		}
		o.MarkStockSettled()
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the settled stock of order %s: %w", orderID, err)
	}
	return nil
}

// RejectionReason spells out why stock could not be reserved, one clause per SKU.
func RejectionReason(failures []messages.LineFailure) string {
	if len(failures) == 0 {
		return "stock could not be reserved"
	}
	parts := make([]string, len(failures))
	for i, f := range failures {
		switch f.Reason {
		case messages.ReasonUnknownSKU:
			parts[i] = fmt.Sprintf("unknown SKU %s", f.SKU)
		case messages.ReasonInsufficientStock:
			parts[i] = fmt.Sprintf("insufficient stock for %s (requested %d, available %d)", f.SKU, f.Requested, f.Available)
		default:
			parts[i] = fmt.Sprintf("%s: %s", f.SKU, f.Reason)
		}
	}
	return strings.Join(parts, "; ")
}
