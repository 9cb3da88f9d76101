package messaging

import (
	"crypto/rand"
	"sync"

	"github.com/google/uuid"
)

// uuidBatch is random bytes for message UUIDs, drawn from crypto/rand a batch
// at a time.
type uuidBatch struct {
	buf  [64 * 16]byte
	used int
}

var uuidBatches = sync.Pool{New: func() any { return &uuidBatch{used: len(uuidBatch{}.buf)} }}

// newUUID returns a random (version 4) UUID, as watermill.NewUUID does, for
// the ids of the messages the services send. watermill.NewUUID reads
// crypto/rand for every id, a system call, and its 16 bytes escape to the
// heap through the reader; a message sent costs one to three ids. These ids
// name messages and operations, they guard nothing, so holding their
// randomness in memory a little before use is fine (which is why this is not
// uuid.EnableRandPool, a switch for the whole process).
func newUUID() string {
	b := uuidBatches.Get().(*uuidBatch) //nolint:forcetypeassert // the pool holds only *uuidBatch
	if b.used == len(b.buf) {
		_, _ = rand.Read(b.buf[:]) // never fails (crypto/rand.Read)
		b.used = 0
	}
	var u uuid.UUID
	copy(u[:], b.buf[b.used:b.used+len(u)])
	b.used += len(u)
	uuidBatches.Put(b)
	u[6] = (u[6] & 0x0f) | 0x40 // version 4
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String()
}
