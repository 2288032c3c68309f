package faq

import (
	"net/http/httptest"
	"testing"
)

func TestClientIPTakesTheProxysEntryNotTheClients(t *testing.T) {
	cases := []struct {
		name  string
		xff   []string
		trust bool
		want  string
	}{
		{"no proxy: the peer", []string{"1.2.3.4"}, false, "192.0.2.1"},
		{"proxy appended the real address", []string{"6.6.6.6, 203.0.113.9"}, true, "203.0.113.9"},
		{"forged header plus the proxy's own", []string{"6.6.6.6", "203.0.113.9"}, true, "203.0.113.9"},
		{"garbage falls back to the peer", []string{"not-an-ip"}, true, "192.0.2.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/faq/search", nil)
			r.RemoteAddr = "192.0.2.1:5555"
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, c.trust); got != c.want {
				t.Errorf("clientIP = %s, want %s", got, c.want)
			}
		})
	}
}
