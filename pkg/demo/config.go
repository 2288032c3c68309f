// Package demo generates a reproducible e-commerce history for nocontact:
// orders with weekly seasonality, customer contacts in English and Chinese
// whose reasons follow a realistic mix, customers who contact twice, and
// planted process defects with known ground truth.
//
// The generator is plain Go: it knows nothing of NATS or HTTP. It yields
// one Day at a time, orders and contacts as structs whose JSON is what
// POST /v1/orders and POST /v1/contacts take, and a Truth that lists every
// planted defect with the contacts it caused. The same Config always gives
// the same history, byte for byte.
package demo

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultDays             = 90
	DefaultOrdersPerDay     = 3500
	DefaultContactsPerOrder = 0.11
	DefaultZHShare          = 0.3
	DefaultRepeatRate       = 0.06
	DefaultSource           = "demo"
)

// DefaultStart is the first day of a history whose Config has no Start: a
// fixed date (a Monday), so that a seed alone fixes the history. Commands
// that want recent data set Start themselves.
func DefaultStart() time.Time { return time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) }

// ErrInvalidConfig is wrapped by every error of Config.Validate.
var ErrInvalidConfig = errors.New("invalid demo config")

// Config says what history to generate. The zero value (after
// setDefaults) is the standard demo: 90 days, about 3,500 orders a day.
type Config struct {
	// Seed picks the history; the same Config gives the same history.
	Seed int64
	// Days is the length of the history in days (default 90).
	Days int
	// Start is the first day, truncated to midnight UTC (default
	// DefaultStart).
	Start time.Time
	// OrdersPerDay is the average number of orders a day (default 3,500);
	// each day varies with the day of the week and some noise.
	OrdersPerDay int
	// ContactsPerOrder is the everyday contact rate before planted defects
	// and repeat contacts (default 0.11); the daily total stays between
	// 0.08 and 0.2 contacts per order with the defaults.
	ContactsPerOrder float64
	// ZHShare is the share of customers who write in Chinese (default 0.3).
	ZHShare float64
	// RepeatRate is the chance that a contact is followed by a second one
	// from the same customer about the same order and reason within four
	// days (default 0.06).
	RepeatRate float64
	// ReasonMix weighs the reasons of everyday contacts (default
	// DefaultReasonMix); weights need not sum to 1.
	ReasonMix map[string]float64
	// NoDefects leaves out the planted defects.
	NoDefects bool
	// Source is the source of every order and contact (default "demo").
	Source string
}

// DefaultReasonMix is the everyday share of each reason: where-is-my-order
// leads, as in most online shops.
func DefaultReasonMix() map[string]float64 {
	return map[string]float64{
		"where_is_my_order": 0.22, "late_delivery": 0.07, "return_request": 0.11, "refund_status": 0.07,
		"damaged_item": 0.04, "wrong_or_missing_item": 0.04, "product_quality": 0.05, "warranty_repair": 0.015,
		"cancellation": 0.05, "order_change": 0.02, "change_address": 0.03, "payment_billing": 0.01,
		"payment_failed": 0.025, "double_charged": 0.015, "payment_methods": 0.015, "invoice": 0.015,
		"promotion_coupon": 0.04, "marketing_messages": 0.01, "account_login": 0.04, "account_management": 0.015,
		"pre_sale_question": 0.04, "shipping_info": 0.02, "shipping_cost": 0.015, "website_app_issue": 0.02,
		"contact_request": 0.015, "staff_attitude": 0.005, "suggestion": 0.01, "unclassified": 0.01,
	}
}

func (c *Config) setDefaults() {
	if c.Days == 0 {
		c.Days = DefaultDays
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart()
	}
	c.Start = c.Start.UTC().Truncate(24 * time.Hour)
	if c.OrdersPerDay == 0 {
		c.OrdersPerDay = DefaultOrdersPerDay
	}
	if c.ContactsPerOrder == 0 {
		c.ContactsPerOrder = DefaultContactsPerOrder
	}
	if c.ZHShare == 0 {
		c.ZHShare = DefaultZHShare
	}
	if c.RepeatRate == 0 {
		c.RepeatRate = DefaultRepeatRate
	}
	if c.ReasonMix == nil {
		c.ReasonMix = DefaultReasonMix()
	}
	if c.Source == "" {
		c.Source = DefaultSource
	}
}

// Validate reports every problem of c (after defaults) at once.
func (c *Config) Validate() error {
	var probs []string
	if c.Days < 1 || c.Days > 3650 {
		probs = append(probs, fmt.Sprintf("days must be 1 to 3650, got %d", c.Days))
	}
	if c.OrdersPerDay < 1 || c.OrdersPerDay > 1_000_000 {
		probs = append(probs, fmt.Sprintf("orders per day must be 1 to 1,000,000, got %d", c.OrdersPerDay))
	}
	if c.ContactsPerOrder < 0 || c.ContactsPerOrder > 1 {
		probs = append(probs, fmt.Sprintf("contacts per order must be 0 to 1, got %g", c.ContactsPerOrder))
	}
	if c.ZHShare < 0 || c.ZHShare > 1 {
		probs = append(probs, fmt.Sprintf("Chinese share must be 0 to 1, got %g", c.ZHShare))
	}
	if c.RepeatRate < 0 || c.RepeatRate > 0.5 {
		probs = append(probs, fmt.Sprintf("repeat rate must be 0 to 0.5, got %g", c.RepeatRate))
	}
	en, zh := english(), chinese()
	sum := 0.0
	for _, code := range slices.Sorted(maps.Keys(c.ReasonMix)) {
		w := c.ReasonMix[code]
		if en.reasons[code] == nil || zh.reasons[code] == nil {
			probs = append(probs, fmt.Sprintf("reason %q has no demo phrasing (have %s)", code, strings.Join(Reasons(), ", ")))
		}
		if w < 0 {
			probs = append(probs, fmt.Sprintf("reason %q has a negative weight", code))
		}
		sum += w
	}
	if sum <= 0 {
		probs = append(probs, "the reason mix has no positive weight")
	}
	for _, ch := range c.Source {
		if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '.' || ch == '-') {
			probs = append(probs, fmt.Sprintf("source %q may only hold lower-case letters, digits, '_', '.' and '-'", c.Source))
			break
		}
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(probs, "; "))
	}
	return nil
}

// Reasons lists the reason codes the demo can write contacts for.
func Reasons() []string {
	return slices.Sorted(maps.Keys(english().reasons))
}
