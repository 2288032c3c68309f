// Package httpx is the HTTP edge shared by every service: JSON responses
// and errors, bearer-token authentication with roles, the list of public
// routes, request metrics and logging, and panic recovery.
package httpx

import (
	"encoding/json"
	"net/http"
)

// Error is the JSON error body every handler answers with:
// {"error":{"code","message","item","field"}}.
type Error struct {
	// Status is the HTTP status; not serialised.
	Status int `json:"-"`
	// Code is a stable, machine-readable code (invalid_json, unknown_field...).
	Code string `json:"code"`
	// Message explains the problem to a person.
	Message string `json:"message"`
	// Item is the index of the offending item in a batch request.
	Item *int `json:"item,omitempty"`
	// Field is the JSON name of the offending field.
	Field string `json:"field,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

// Errorf builds an Error.
func Errorf(status int, code, field, message string) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: message}
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes e as {"error": e}.
func WriteError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	WriteJSON(w, status, map[string]*Error{"error": e})
}

// BadRequest writes a 400 naming the field.
func BadRequest(w http.ResponseWriter, field, message string) {
	WriteError(w, Errorf(http.StatusBadRequest, "invalid_value", field, message))
}

// Internal writes a 500 without leaking the cause to the client.
func Internal(w http.ResponseWriter) {
	WriteError(w, Errorf(http.StatusInternalServerError, "internal", "", "internal error; see the server log"))
}
