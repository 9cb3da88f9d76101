// Package wiringintegration runs the composition root on MongoDB (its tests,
// behind the integration build tag, are all there is of it): the saga's
// guarantees that rest on the stores' atomicity, the poison queue and the
// outbox relay on MongoDB's own indexes, the indexes every query needs, and
// the commands an order costs. MONGODB_URI names the server; `go tool task
// test:integration` starts a test server when it is unset.
package wiringintegration
