package defects

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// The statuses of a defect. A defect opens when an issue happens twice,
// its owner acknowledges and fixes it, and the data verifies the fix; a
// recurrence after the fix reopens it.
const (
	StatusOpen         = "open"
	StatusAcknowledged = "acknowledged"
	StatusFixing       = "fixing"
	StatusFixed        = "fixed"
	StatusVerified     = "verified"
	StatusWontfix      = "wontfix"
)

// Statuses lists every status in lifecycle order.
func Statuses() []string {
	return []string{StatusOpen, StatusAcknowledged, StatusFixing, StatusFixed, StatusVerified, StatusWontfix}
}

// The kinds of "the same issue" a defect stands for.
const (
	// KindSubject: the same reason about the same subject (product,
	// carrier, app version ...) from different customers.
	KindSubject = "subject"
	// KindText: the same reason in near-identical words from different
	// customers, for contacts that carry no subject.
	KindText = "text"
	// KindRework: one customer contacting again about the same order and
	// reason; the first answer did not resolve it.
	KindRework = "rework"
)

// Actions recorded in a defect's history.
const (
	ActionOpened       = "opened"
	ActionStatus       = "status"
	ActionOwner        = "owner"
	ActionNote         = "note"
	ActionPublicNotice = "public_notice"
	ActionReopened     = "reopened"
	ActionVerified     = "verified"
	ActionAndon        = "andon"
)

// ActorDetector is the actor of changes the data made (opening, reopening,
// verification, andon).
const ActorDetector = "detector"

// Defect is one process defect: an issue that happened at least twice, with
// its owner, evidence, cost and lifecycle.
type Defect struct {
	ID string `json:"id"`
	// Signature identifies "the same issue": the reason and its subject,
	// text cluster, or rework marker.
	Signature string `json:"signature"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
	// Subject holds the subject key values of a subject defect.
	Subject map[string]string `json:"subject,omitempty"`
	// Terms are the characteristic words of a text-cluster defect.
	Terms []string `json:"terms,omitempty"`
	Title string   `json:"title"`
	// BIV is the kind of process defect: mistake, rework, breakdown,
	// inefficiency or variation.
	BIV    string `json:"biv"`
	Owner  string `json:"owner"`
	Status string `json:"status"`
	// WontfixReason says why a defect will not be fixed.
	WontfixReason string `json:"wontfix_reason,omitempty"`
	Note          string `json:"note,omitempty"`
	// PublicNotice is the text the help centre shows customers while the
	// defect is known ("known issue").
	PublicNotice string `json:"public_notice,omitempty"`
	// FirstSeen, LastSeen and OpenedAt are event times: when the contacts
	// were received.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	OpenedAt  time.Time `json:"opened_at"`
	// FixedAt is the event time from which the fix is in effect.
	FixedAt    *time.Time `json:"fixed_at,omitempty"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
	// Occurrences counts the contacts attached; Customers and Orders the
	// distinct customers and orders among them.
	Occurrences int `json:"occurrences"`
	Customers   int `json:"customers"`
	Orders      int `json:"orders"`
	Reopened    int `json:"reopened,omitempty"`
	// EstimatedCost is what the contacts cost: each contact at its
	// channel's cost per contact (the owner's when the channel is unknown).
	EstimatedCost float64 `json:"estimated_cost"`
	// BaselinePerDay is how many contacts a day the signature had before
	// the defect opened (its everyday rate).
	BaselinePerDay float64 `json:"baseline_per_day"`
	// Concentration lists the subject keys, other than its own, on which
	// most of its contacts share one value (more than half of them, three
	// at least): where to look first.
	Concentration []Concentration `json:"concentration,omitempty"`
	// Evidence holds the contacts that opened the defect and the latest
	// ones, with masked sample texts.
	Evidence []Evidence `json:"evidence"`
	// Daily is the occurrence series by event day.
	Daily        []DayCount    `json:"daily,omitempty"`
	Verification *Verification `json:"verification,omitempty"`
	Andon        *Andon        `json:"andon,omitempty"`
	History      []Change      `json:"history,omitempty"`
	// Revision counts the lifecycle changes (status, owner, note, notice,
	// verification, reopening), so that a newer stored copy is recognised.
	Revision  uint64    `json:"revision"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Evidence is one contact behind a defect.
type Evidence struct {
	ContactID  string    `json:"contact_id"`
	ExternalID string    `json:"external_id,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	OrderID    string    `json:"order_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Text       string    `json:"text,omitempty"`
	// RepeatOf is, for rework, the earlier contact this one repeats.
	RepeatOf         string `json:"repeat_of,omitempty"`
	RepeatOfExternal string `json:"repeat_of_external_id,omitempty"`
	// Opening marks the contacts that opened the defect.
	Opening bool `json:"opening,omitempty"`
}

// Concentration is one value of a subject key that most of a defect's
// contacts carry: "region north", 96% of them.
type Concentration struct {
	Key         string  `json:"key"`
	Value       string  `json:"value"`
	Occurrences int     `json:"occurrences"`
	Share       float64 `json:"share"`
}

// DayCount is a count on one event day (YYYY-MM-DD, UTC).
type DayCount struct {
	Day   string `json:"day"`
	Count int    `json:"count"`
}

// Change is one entry of a defect's history.
type Change struct {
	// At is the wall-clock time of the change.
	At time.Time `json:"at"`
	// EventTime is the event time the change refers to, when it is the
	// data's doing (an opening, a recurrence, a verification).
	EventTime *time.Time `json:"event_time,omitempty"`
	Actor     string     `json:"actor"`
	Action    string     `json:"action"`
	From      string     `json:"from,omitempty"`
	To        string     `json:"to,omitempty"`
	Note      string     `json:"note,omitempty"`
}

// Verification is what the data said about a fix.
type Verification struct {
	// From and To bound the verification window (event time).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Unit is what rates are per: "order" when orders are counted, else
	// "day".
	Unit string `json:"unit"`
	// RateBefore and RateAfter are contacts per unit before the fix (while
	// the defect lasted) and in the window after it.
	RateBefore float64 `json:"rate_before"`
	RateAfter  float64 `json:"rate_after"`
	// UnitsAfter is how many units the window had.
	UnitsAfter float64 `json:"units_after"`
	// OccurrencesAfter counts the contacts in the window.
	OccurrencesAfter int `json:"occurrences_after"`
	// ContactsAvoided = (RateBefore - RateAfter) x UnitsAfter.
	ContactsAvoided float64 `json:"contacts_avoided"`
}

// Andon is the state of a defect's andon cord.
type Andon struct {
	Active bool `json:"active"`
	// Cause is "spike" (occurrences in an hour passed the threshold) or
	// "recurrence" (it came back after a fix).
	Cause     string    `json:"cause"`
	PulledAt  time.Time `json:"pulled_at"`
	EventTime time.Time `json:"event_time"`
	// LastHour is how many occurrences the hour before the pull had.
	LastHour int `json:"last_hour"`
	Pulls    int `json:"pulls"`
}

// Errors of lifecycle changes.
var (
	// ErrNotFound is returned for an unknown defect id.
	ErrNotFound = errors.New("defect not found")
	// ErrInvalidTransition is wrapped by a status change the lifecycle does
	// not allow.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrInvalidPatch is wrapped by a patch with a bad field value.
	ErrInvalidPatch = errors.New("invalid patch")
)

// PatchError names the field of an invalid patch.
type PatchError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *PatchError) Error() string { return e.Msg }

// Unwrap makes a PatchError an ErrInvalidPatch.
func (e *PatchError) Unwrap() error { return ErrInvalidPatch }

// transitions lists the status changes a person may make. Verified is the
// data's verdict only (no recurrence in the verification window), so no
// PATCH sets it; a recurrence after fixed or verified reopens a defect by
// itself.
var transitions = map[string][]string{
	StatusOpen:         {StatusAcknowledged, StatusFixing, StatusFixed, StatusWontfix},
	StatusAcknowledged: {StatusFixing, StatusFixed, StatusWontfix},
	StatusFixing:       {StatusFixed, StatusWontfix},
	StatusFixed:        {StatusOpen},
	StatusVerified:     {},
	StatusWontfix:      {StatusOpen},
}

// CheckTransition reports whether a person may move a defect from one
// status to another; the error wraps ErrInvalidTransition and says why.
func CheckTransition(from, to string) error {
	if !slices.Contains(Statuses(), to) {
		return &PatchError{Field: "status", Msg: fmt.Sprintf("unknown status %q (want one of %v)", to, Statuses())}
	}
	if slices.Contains(transitions[from], to) {
		return nil
	}
	msg := fmt.Sprintf("cannot go from %s to %s", from, to)
	switch {
	case to == StatusVerified:
		msg += ": verified is decided by the data (no recurrence in the verification window after the fix), not set by hand"
	case len(transitions[from]) == 0:
		msg += ": a verified defect only reopens by itself if it recurs"
	default:
		msg += fmt.Sprintf(" (from %s a defect may go to %v)", from, transitions[from])
	}
	return fmt.Errorf("%w: %s", ErrInvalidTransition, msg)
}

// Patch is a person's change of a defect. Nil fields are left as they are.
type Patch struct {
	Status *string
	Owner  *string
	Note   *string
	// PublicNotice is shown in the help centre; "" removes it.
	PublicNotice *string
	// Reason is required with status wontfix.
	Reason *string
	// FixedAt backdates a fix to the event time it took effect (default:
	// the latest event time seen).
	FixedAt *time.Time
}

// clone returns a deep copy of d, safe to hand out while the detector goes
// on changing d.
func (d *Defect) clone() *Defect {
	c := *d
	if d.Subject != nil {
		c.Subject = make(map[string]string, len(d.Subject))
		for k, v := range d.Subject {
			c.Subject[k] = v
		}
	}
	c.Terms = slices.Clone(d.Terms)
	c.Evidence = slices.Clone(d.Evidence)
	c.Daily = slices.Clone(d.Daily)
	c.History = slices.Clone(d.History)
	if d.FixedAt != nil {
		t := *d.FixedAt
		c.FixedAt = &t
	}
	if d.VerifiedAt != nil {
		t := *d.VerifiedAt
		c.VerifiedAt = &t
	}
	if d.Verification != nil {
		v := *d.Verification
		c.Verification = &v
	}
	if d.Andon != nil {
		a := *d.Andon
		c.Andon = &a
	}
	return &c
}
