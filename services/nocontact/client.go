package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls a running server's HTTP API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newClient(c clientFlags) *apiClient {
	return &apiClient{
		base:  strings.TrimRight(c.url, "/"),
		token: c.token,
		http:  &http.Client{Timeout: 5 * time.Minute},
	}
}

// apiError is an error answer of the server.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Item    *int   `json:"item"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	if e.Item != nil {
		s += fmt.Sprintf(" (item %d)", *e.Item)
	}
	return s
}

// do sends body (JSON-encoded unless it is raw bytes with contentType) and
// decodes a JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body any, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
		contentType = "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			// Not one of ours (a proxy, say): still an *apiError with the status.
			e.Error = apiError{Code: strings.ToLower(strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "_")),
				Message: strings.TrimSpace(string(data[:min(len(data), 200)]))}
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// waitIdle polls GET /v1/status until the pipeline has processed
// everything published so far (idle twice in a row, since one consumer's
// output is the next one's input).
func (c *apiClient) waitIdle(ctx context.Context, poll time.Duration) error {
	idle := 0
	for idle < 2 {
		var st struct {
			Idle bool `json:"idle"`
		}
		if err := c.do(ctx, "GET", "/v1/status", "", nil, &st); err != nil {
			return err
		}
		if st.Idle {
			idle++
		} else {
			idle = 0
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	return nil
}
