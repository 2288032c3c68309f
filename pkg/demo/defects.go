package demo

import "math"

// Keys of the planted defects.
const (
	defectDamagedSKU     = "damaged_sku"
	defectCouponFail     = "coupon_failure"
	defectPaymentRelease = "payment_release"
	defectCarrierDelay   = "carrier_delay"
	defectReturnPolicy   = "return_policy_page"
)

// plantedDefect is a process defect the demo plants in the history: from
// its first day until its fix day, extra contacts with its reason and
// subject arrive every day, then they stop.
type plantedDefect struct {
	key         string
	description string
	reason      string
	// first and fix are days of the default 90-day history; shorter or
	// longer histories scale them.
	first, fix int
	// rate is the extra contacts a day per order while the defect lasts.
	rate float64
}

// plantedDefects are the defects of every demo history, in first-day order.
func plantedDefects() []plantedDefect {
	return []plantedDefect{
		{defectReturnPolicy, "the return-policy page contradicts itself (30 vs 14 days), customers ask how to return", "return_request", 10, 70, 0.004},
		{defectCarrierDelay, "SwiftShip delays every parcel in the north region", "late_delivery", 18, 33, 0.009},
		{defectDamagedSKU, "the ceramic mug KIT-MUG-330 ships in a box without padding and arrives broken", "damaged_item", 30, 58, 0.006},
		{defectCouponFail, "promo code SPRING20 is rejected at checkout for three days", "promotion_coupon", 41, 44, 0.014},
		{defectPaymentRelease, "app release 5.2.0 breaks card payments until the 5.2.1 hotfix", "payment_failed", 52, 55, 0.018},
	}
}

// Subjects of the planted defects.
const (
	damagedSKU     = "KIT-MUG-330"
	failingCoupon  = "SPRING20"
	delayedCarrier = "SwiftShip"
	delayedRegion  = "north"
)

// scaleDay maps a day of the 90-day reference history onto a history of n
// days.
func scaleDay(day, n int) int {
	return int(math.Round(float64(day) * float64(n) / 90))
}
