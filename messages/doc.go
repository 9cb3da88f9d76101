// Package messages holds the contracts between the services: commands, events,
// the replies of request/reply commands, topic names and the metadata keys that
// travel with every message. It is plain data and depends on the standard
// library only, so every service can import it without importing another.
package messages
