// Package deploytest checks the deployment files against the services they
// deploy (its tests are all there is of it). No Docker engine runs where the
// tests run, so docker-compose.yml and the Dockerfile are kept correct by
// construction: every variable they set is one the services read
// (wiring.EnvVariables), every variable the services read is in the README's
// configuration table, every binary they run exists, and every stateful
// container keeps its data on a volume.
package deploytest
