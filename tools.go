//go:build tools

// Package tools pins the code generators the build uses, so that
// scripts/protogen.sh builds them at the version in go.mod.
package tools

import _ "google.golang.org/protobuf/cmd/protoc-gen-go"
