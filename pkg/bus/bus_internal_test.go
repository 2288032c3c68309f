package bus

import "testing"

func TestRedactHidesEveryPassword(t *testing.T) {
	got := redact("nats://u:secret@h1:4222,nats://u:secret@h2:4222,nats://h3:4222")
	want := "nats://***@h1:4222,nats://***@h2:4222,nats://h3:4222"
	if got != want {
		t.Fatalf("redact = %q, want %q", got, want)
	}
}
