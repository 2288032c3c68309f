// Package pb holds the Go code generated from proto/nocontact/v1: the event
// payloads that services publish on the bus. Regenerate with `go generate ./pkg/pb`
// (or scripts/protogen.sh); CI fails when the committed code is stale.
package pb

//go:generate ../../scripts/protogen.sh
