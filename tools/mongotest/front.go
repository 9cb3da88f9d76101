package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Wire protocol constants (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/).
const (
	headerLen = 16

	opReply = 1    // legacy reply, answers OP_QUERY
	opQuery = 2004 // legacy; drivers still use it for the first hello/isMaster
	opMsg   = 2013

	// OP_MSG flagBits bit 1: the sender will not wait for (or, on a reply, is sending more) replies.
	flagMoreToCome = 1 << 1

	// maxMessageLen mirrors the maxMessageSizeBytes FerretDB advertises in hello.
	maxMessageLen = 48_000_000

	// clientWriteTimeout bounds how long one client that stopped reading can hold the global lock.
	clientWriteTimeout = 30 * time.Second
)

// header is the fixed 16-byte prefix of every wire message.
type header struct {
	length, requestID, responseTo, opCode int32
}

// message is one complete wire message: header plus body, as raw bytes.
type message []byte

func (m message) header() header {
	return header{
		length:     int32(binary.LittleEndian.Uint32(m[0:])),
		requestID:  int32(binary.LittleEndian.Uint32(m[4:])),
		responseTo: int32(binary.LittleEndian.Uint32(m[8:])),
		opCode:     int32(binary.LittleEndian.Uint32(m[12:])),
	}
}

// moreToCome reports whether m is an OP_MSG with the moreToCome flag.
func (m message) moreToCome() bool {
	return m.header().opCode == opMsg && binary.LittleEndian.Uint32(m[headerLen:])&flagMoreToCome != 0
}

// lockFree are the commands the front forwards without the global lock: the handshake and the
// monitoring commands drivers send, none of which reads or writes a collection.
var lockFree = map[string]bool{"hello": true, "isMaster": true, "ismaster": true, "ping": true, "buildInfo": true, "buildinfo": true}

// commandName returns the name of the command m carries (the first key of its command document),
// or "" when m is not a well-formed OP_MSG with a body section or OP_QUERY.
func (m message) commandName() string {
	var doc []byte
	switch m.header().opCode {
	case opMsg:
		// flagBits, then sections; the body (kind 0) is the command document.
		for rest := m[headerLen+4:]; len(rest) > 0; {
			kind := rest[0]
			rest = rest[1:]
			if kind == 0 {
				doc = rest
				break
			}
			if len(rest) < 4 { // kind 1: int32 size of the section, which includes the size itself
				return ""
			}
			n := int(binary.LittleEndian.Uint32(rest))
			if n < 4 || n > len(rest) {
				return ""
			}
			rest = rest[n:]
		}
	case opQuery:
		// flags, fullCollectionName (cstring), numberToSkip, numberToReturn, then the query.
		body := m[headerLen:]
		if len(body) < 4 {
			return ""
		}
		end := bytes.IndexByte(body[4:], 0)
		if end < 0 || len(body) < 4+end+1+8 {
			return ""
		}
		doc = body[4+end+1+8:]
	}
	// A BSON document: int32 length, then elements of type byte, cstring key, value.
	if len(doc) < 6 {
		return ""
	}
	end := bytes.IndexByte(doc[5:], 0)
	if end < 0 {
		return ""
	}
	return string(doc[5 : 5+end])
}

// readMessage reads one complete wire message from r.
func readMessage(r io.Reader) (message, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int32(binary.LittleEndian.Uint32(h[:]))
	op := int32(binary.LittleEndian.Uint32(h[12:]))
	// OP_MSG needs at least flagBits (4) + one section kind byte.
	if n < headerLen || n > maxMessageLen || (op == opMsg && n < headerLen+5) {
		return nil, fmt.Errorf("invalid message length %d (opCode %d)", n, op)
	}
	m := make(message, n)
	copy(m, h[:])
	if _, err := io.ReadFull(r, m[headerLen:]); err != nil {
		return nil, fmt.Errorf("reading %d-byte message body: %w", n, err)
	}
	return m, nil
}

// front is a TCP proxy that makes FerretDB behave like mongod for single-document atomicity.
//
// FerretDB v1 executes every update as an unlocked read-then-write, so two concurrent conditional
// updates can both match. The front forwards each client connection to its own backend connection
// (so cursors and connection state stay as they are) but lets only one command across all
// connections be in flight at a time.
type front struct {
	ln      net.Listener
	backend string // FerretDB's own loopback listener
	log     *slog.Logger

	// mu is the global lock: held from having read a full request until its reply was written back.
	mu sync.Mutex

	connsMu sync.Mutex
	conns   map[net.Conn]struct{} // open client and backend connections, closed on shutdown
	closed  bool
	wg      sync.WaitGroup

	requests   atomic.Int64 // commands forwarded
	noReplyReq atomic.Int64 // of which had moreToCome (the client expects no reply)
}

func newFront(ln net.Listener, backend string, log *slog.Logger) *front {
	f := &front{ln: ln, backend: backend, log: log, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go f.acceptLoop()
	return f
}

func (f *front) acceptLoop() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Error("accept failed, front stops", "err", err)
			}
			return
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.serve(c)
		}()
	}
}

// track registers c for closing on shutdown; it returns false (and closes c) if already shut down.
func (f *front) track(c net.Conn) bool {
	f.connsMu.Lock()
	defer f.connsMu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *front) untrack(c net.Conn) {
	f.connsMu.Lock()
	delete(f.conns, c)
	f.connsMu.Unlock()
	c.Close()
}

// close stops accepting, closes every connection (unblocking their reads) and waits for the handlers.
func (f *front) close() {
	f.ln.Close()
	f.connsMu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.connsMu.Unlock()
	f.wg.Wait()
}

func (f *front) serve(client net.Conn) {
	defer f.untrack(client)
	backend, err := net.Dial("tcp", f.backend)
	if err != nil {
		f.log.Error("dial FerretDB", "err", err)
		return
	}
	if !f.track(backend) {
		return
	}
	defer f.untrack(backend)

	cr, br := bufio.NewReader(client), bufio.NewReader(backend)
	for {
		// Read the whole request before taking the lock, so a slow client cannot stall the others.
		req, err := readMessage(cr)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				f.log.Debug("client read", "err", err)
			}
			return
		}
		if err := f.roundTrip(client, backend, br, req); err != nil {
			f.log.Warn("closing connection", "client", client.RemoteAddr(), "err", err)
			return
		}
	}
}

// roundTrip forwards one request and its replies while holding the global lock.
func (f *front) roundTrip(client, backend net.Conn, br *bufio.Reader, req message) error {
	h := req.header()
	// Only the opcodes a modern driver sends. Legacy OP_INSERT/OP_UPDATE/... and OP_COMPRESSED are
	// never negotiated (FerretDB advertises no compression) and FerretDB v1 would not answer them
	// in a way we could frame, so refuse instead of guessing.
	if h.opCode != opMsg && h.opCode != opQuery {
		return fmt.Errorf("unsupported opCode %d", h.opCode)
	}
	noReply := req.moreToCome()

	// The handshake and the driver's heartbeats read no data, so they need no atomicity. Behind
	// the lock they would wait for every queued command: on a saturated server a new
	// connection's hello then times out, the driver clears its whole pool, and every operation in
	// flight fails with it (seen as a cascade of "connection pool … was cleared" errors).
	if !lockFree[req.commandName()] {
		f.mu.Lock()
		defer f.mu.Unlock()
	}
	f.requests.Add(1)

	if _, err := backend.Write(req); err != nil {
		return fmt.Errorf("write to FerretDB: %w", err)
	}
	wantOp := int32(opMsg)
	if h.opCode == opQuery {
		wantOp = opReply
	}
	expect := h.requestID
	for {
		res, err := readMessage(br)
		if err != nil {
			return fmt.Errorf("read from FerretDB: %w", err)
		}
		rh := res.header()
		// Cheap desync detector: every reply must answer what we just sent.
		if rh.responseTo != expect || rh.opCode != wantOp {
			return fmt.Errorf("reply (opCode %d, responseTo %d) does not answer request (opCode %d, requestID %d)",
				rh.opCode, rh.responseTo, h.opCode, expect)
		}
		if noReply {
			// FerretDB v1 ignores moreToCome and answers anyway (verified by TestMoreToComeRequest).
			// The client will not read that answer, so drop it here: forwarding it would make the
			// client take it for the reply to its next command. Waiting for it also keeps the
			// unacknowledged write inside the lock.
			f.noReplyReq.Add(1)
			return nil
		}
		if err := client.SetWriteDeadline(time.Now().Add(clientWriteTimeout)); err != nil {
			return err
		}
		if _, err := client.Write(res); err != nil {
			return fmt.Errorf("write to client: %w", err)
		}
		// A reply with moreToCome (exhaust cursor / streaming hello) is followed by more replies
		// without a request. FerretDB v1 never sends one (no exhaust support, no topologyVersion,
		// so the Go driver polls), but forward the whole stream under the lock if it ever does.
		if !res.moreToCome() {
			return nil
		}
		expect = rh.requestID // each further reply answers the previous one
	}
}
