// Package infra holds the adapters out (stores, pub/sub) and the wiring of
// Watermill: routers with their middleware, command and event buses, and the
// transport of request/reply answers. Each concept has its own subpackage.
package infra
