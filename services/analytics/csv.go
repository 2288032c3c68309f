package analytics

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
)

// overallKey names the overall rows of the CSV answers; parentheses never
// appear in reason, channel or owner codes.
const overallKey = "(overall)"

// writeCSV answers rows as text/csv (RFC 4180), the first row the header.
func writeCSV(w http.ResponseWriter, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.WriteAll(rows)
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func float(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return float(*f)
}

// cpxTable is one row per series and period: the overall series first.
func cpxTable(rep CPXReport) [][]string {
	rows := [][]string{{"series", "period", "contacts", "units", "cpx"}}
	add := func(key string, s Series) {
		for _, p := range s.Points {
			rows = append(rows, []string{key, p.Period, num(p.Contacts), num(p.Units), optFloat(p.CPX)})
		}
	}
	add(overallKey, rep.Overall)
	for _, s := range rep.Series {
		add(s.Key, s)
	}
	return rows
}

func paretoTable(rep ParetoReport) [][]string {
	rows := [][]string{{"reason", "name", "owner", "contacts", "share", "cumulative_share", "cost", "vital_few"}}
	for _, r := range rep.Reasons {
		rows = append(rows, []string{r.Reason, r.Name, r.Owner, num(r.Contacts), float(r.Share), float(r.CumulativeShare), float(r.Cost), strconv.FormatBool(r.VitalFew)})
	}
	return rows
}

func matrixTable(rep MatrixReport) [][]string {
	rows := [][]string{{"action", "customer_value", "company_value", "reason", "name", "owner", "contacts", "cpx"}}
	for _, q := range rep.Quadrants {
		for _, r := range q.Reasons {
			rows = append(rows, []string{q.Action, q.CustomerValue, q.CompanyValue, r.Reason, r.Name, r.Owner, num(r.Contacts), optFloat(r.CPX)})
		}
	}
	for _, r := range rep.Unplaced {
		rows = append(rows, []string{"", "", "", r.Reason, r.Name, r.Owner, num(r.Contacts), optFloat(r.CPX)})
	}
	return rows
}

// costTable names its first column after the grouping; by reason it also
// shows each reason's owner.
func costTable(rep CostReport) [][]string {
	byReason := rep.By == CostByReason
	header := []string{rep.By, "name", "contacts", "handle_minutes", "cost", "share"}
	if byReason {
		header = slices.Insert(header, 2, "owner")
	}
	rows := [][]string{header}
	for _, r := range rep.Rows {
		row := []string{r.Key, r.Name, num(r.Contacts), float(r.HandleMinutes), float(r.Cost), float(r.Share)}
		if byReason {
			row = slices.Insert(row, 2, r.Owner)
		}
		rows = append(rows, row)
	}
	return rows
}

func repeatTable(rep RepeatReport) [][]string {
	rows := [][]string{{"reason", "name", "contacts", "repeats", "rate"}}
	rows = append(rows, []string{overallKey, "", num(rep.Overall.Contacts), num(rep.Overall.Repeats), optFloat(rep.Overall.Rate)})
	for _, r := range rep.Reasons {
		rows = append(rows, []string{r.Reason, r.Name, num(r.Contacts), num(r.Repeats), optFloat(r.Rate)})
	}
	return rows
}
