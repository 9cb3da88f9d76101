package memory

import (
	"context"
	"time"

	"github.com/orderflow/orderflow/app/delivery"
)

// ShipmentRepository keeps shipments in memory.
type ShipmentRepository struct {
	s *store[delivery.Shipment]
}

var _ delivery.Repository = (*ShipmentRepository)(nil)

// NewShipmentRepository returns an empty ShipmentRepository.
func NewShipmentRepository() *ShipmentRepository {
	return &ShipmentRepository{s: newStore(
		func(id string) delivery.Shipment { return delivery.Shipment{OrderID: id} },
		delivery.Shipment.Clone,
		func(s *delivery.Shipment) int64 { return s.Revision },
	)}
}

// Get implements delivery.Repository.
func (r *ShipmentRepository) Get(ctx context.Context, orderID string) (delivery.Shipment, error) {
	return r.s.getOr(ctx, orderID, delivery.ErrNotFound)
}

// Update implements delivery.Repository.
func (r *ShipmentRepository) Update(ctx context.Context, orderID string, fn func(*delivery.Shipment) error) (delivery.Shipment, error) {
	return r.s.update(ctx, orderID, fn)
}

// ListDue implements delivery.Repository, soonest first.
func (r *ShipmentRepository) ListDue(ctx context.Context, now time.Time, limit int) ([]delivery.Shipment, error) {
	return r.s.find(ctx, func(s *delivery.Shipment) bool {
		return !s.NextStepAt.IsZero() && !s.NextStepAt.After(now)
	}, func(a, b delivery.Shipment) int { return a.NextStepAt.Compare(b.NextStepAt) }, limit)
}

// ListUnpublished implements delivery.Repository.
func (r *ShipmentRepository) ListUnpublished(ctx context.Context, before time.Time, limit int) ([]delivery.Shipment, error) {
	return r.s.oldestFirst(ctx, before, limit, (*delivery.Shipment).UnpublishedSince, func(s *delivery.Shipment) string { return s.OrderID })
}
