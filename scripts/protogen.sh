#!/usr/bin/env bash
# Regenerates pkg/pb from proto/nocontact/v1/*.proto.
# Needs protoc (Debian: protobuf-compiler); protoc-gen-go is built from the
# version pinned in go.mod, so the output only changes when the protos do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
out=${1:-pkg/pb}
mkdir -p "$out"
protoc -I proto \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --go_out="$out" --go_opt=module=github.com/nocontact/nocontact/pkg/pb \
  proto/nocontact/v1/*.proto
