package view

import (
	"time"

	"github.com/orderflow/orderflow/messages"
)

// StockLevel is the view of one SKU's stock, as of the product's Revision.
type StockLevel struct {
	SKU       string
	OnHand    int
	Reserved  int
	Available int
	// Revision is the inventory product's revision: the view keeps the newest.
	Revision  int64
	UpdatedAt time.Time
}

// Newer reports whether l is a later state of the product than cur.
func (l StockLevel) Newer(cur StockLevel) bool { return l.Revision > cur.Revision }

// Message is the level as the API shows it.
func (l StockLevel) Message() messages.StockLevel {
	return messages.StockLevel{SKU: l.SKU, OnHand: l.OnHand, Reserved: l.Reserved, Available: l.Available, Revision: l.Revision}
}

// LevelFrom reads a level of the contract.
func LevelFrom(m messages.StockLevel, at time.Time) StockLevel {
	return StockLevel{SKU: m.SKU, OnHand: m.OnHand, Reserved: m.Reserved, Available: m.Available, Revision: m.Revision, UpdatedAt: at.UTC()}
}
