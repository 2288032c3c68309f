package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/nocontact/nocontact/services/analytics"
)

// reportKinds returns the reports `nocontact report` prints, each
// answered by GET /v1/metrics/<kind>.
func reportKinds() []string { return []string{"cpx", "pareto", "matrix", "cost", "repeat"} }

// reportFlags are the flags of `nocontact report`, and the reports each
// one applies to.
type reportFlags struct {
	from, to, format, unit, interval, by, window string
	limit                                        int
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	var cf clientFlags
	cf.register(fs)
	var f reportFlags
	fs.StringVar(&f.from, "from", "", "first `day` of the report, YYYY-MM-DD (default: 30 days ending at --to)")
	fs.StringVar(&f.to, "to", "", "last `day` of the report, YYYY-MM-DD, included (default: today in the server's time zone)")
	fs.StringVar(&f.format, "format", "table", "output `format`: table, csv or json")
	fs.StringVar(&f.unit, "unit", "", "cpx, matrix: the X of CPX, order (default) or a unit recorded with POST /v1/units")
	fs.StringVar(&f.interval, "interval", "", "cpx: day (default), week or month")
	fs.StringVar(&f.by, "by", "", "cpx: series by reason, reason_parent, channel, product, owner or locale; cost: owner (default) or reason")
	fs.StringVar(&f.window, "window", "", "repeat: how soon a contact repeats another, e.g. 7d (default) or 24h")
	fs.IntVar(&f.limit, "limit", 0, "cpx: most series shown, the others summed as (other) (default 100)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:\n  nocontact report cpx|pareto|matrix|cost|repeat [--from DAY] [--to DAY] [--format table|csv|json] [flags]\n\nPrints a report of a running server's analytics.\n\nFlags:")
		fs.PrintDefaults()
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return errUsage
	}
	kind := args[0]
	if !slices.Contains(reportKinds(), kind) {
		fs.Usage()
		return fmt.Errorf("unknown report %q (have %s): %w", kind, strings.Join(reportKinds(), ", "), errUsage)
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("report %s: unexpected arguments %q: %w", kind, fs.Args(), errUsage)
	}
	q, err := f.query(kind)
	if err != nil {
		return fmt.Errorf("report %s: %w", kind, err)
	}
	c := newClient(cf)
	path := "/v1/metrics/" + kind
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	switch f.format {
	case "csv":
		data, err := c.getRaw(ctx, path, "text/csv")
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	case "json":
		data, err := c.getRaw(ctx, path, "application/json")
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, data, "", "  "); err != nil {
			return fmt.Errorf("report %s: answer is not JSON: %w", kind, err)
		}
		_, err = out.WriteTo(stdout)
		return err
	}
	data, err := c.getRaw(ctx, path, "application/json")
	if err != nil {
		return err
	}
	return printReport(kind, data, stdout)
}

// query turns the flags into the route's query parameters, refusing the
// flags the report does not take.
func (f reportFlags) query(kind string) (url.Values, error) {
	if !slices.Contains([]string{"table", "csv", "json"}, f.format) {
		return nil, fmt.Errorf("--format must be table, csv or json, not %q", f.format)
	}
	q := url.Values{}
	set := func(name, value string, kinds ...string) error {
		if value == "" {
			return nil
		}
		if !slices.Contains(kinds, kind) {
			return fmt.Errorf("--%s applies to the %s reports only", name, strings.Join(kinds, " and "))
		}
		q.Set(name, value)
		return nil
	}
	limit := ""
	if f.limit != 0 {
		limit = strconv.Itoa(f.limit)
	}
	for _, err := range []error{
		set("from", f.from, reportKinds()...),
		set("to", f.to, reportKinds()...),
		set("unit", f.unit, "cpx", "matrix"),
		set("interval", f.interval, "cpx"),
		set("by", f.by, "cpx", "cost"),
		set("window", f.window, "repeat"),
		set("limit", limit, "cpx"),
	} {
		if err != nil {
			return nil, err
		}
	}
	return q, nil
}

// getRaw sends a GET with an Accept header and returns the answer's body;
// an error answer becomes an *apiError.
func (c *apiClient) getRaw(ctx context.Context, path, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return nil, fmt.Errorf("server answered %s: %.200s", resp.Status, data)
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return data, nil
}

// printReport prints a report's JSON answer as aligned columns.
func printReport(kind string, data []byte, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	var err error
	switch kind {
	case "cpx":
		var r analytics.CPXReport
		if err = json.Unmarshal(data, &r); err == nil {
			printCPX(tw, r)
		}
	case "pareto":
		var r analytics.ParetoReport
		if err = json.Unmarshal(data, &r); err == nil {
			fmt.Fprintf(tw, "%s to %s: %d contacts, cost %s\n\n", r.From, r.To, r.Contacts, money(r.Cost))
			fmt.Fprintln(tw, "REASON\tOWNER\tCONTACTS\tSHARE\tCUMULATIVE\tCOST\tVITAL FEW")
			for _, x := range r.Reasons {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", x.Reason, x.Owner, x.Contacts, percent(&x.Share), percent(&x.CumulativeShare), money(x.Cost), yes(x.VitalFew))
			}
		}
	case "matrix":
		var r analytics.MatrixReport
		if err = json.Unmarshal(data, &r); err == nil {
			fmt.Fprintf(tw, "%s to %s: %d contacts, %d %ss, CPX %s\n\n", r.From, r.To, r.Contacts, r.Units, r.Unit, fmtRatio(r.CPX))
			fmt.Fprintln(tw, "ACTION\tVALUE (CUSTOMER/COMPANY)\tREASON\tCONTACTS\tCPX")
			for _, q := range r.Quadrants {
				fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%d\t%s\n", q.Action, q.CustomerValue, q.CompanyValue, "(all)", q.Contacts, fmtRatio(q.CPX))
				for _, x := range q.Reasons {
					fmt.Fprintf(tw, "\t\t%s\t%d\t%s\n", x.Reason, x.Contacts, fmtRatio(x.CPX))
				}
			}
			for _, x := range r.Unplaced {
				fmt.Fprintf(tw, "unplaced\t\t%s\t%d\t%s\n", x.Reason, x.Contacts, fmtRatio(x.CPX))
			}
		}
	case "cost":
		var r analytics.CostReport
		if err = json.Unmarshal(data, &r); err == nil {
			fmt.Fprintf(tw, "%s to %s: %d contacts, cost %s\n\n", r.From, r.To, r.Contacts, money(r.Cost))
			fmt.Fprintf(tw, "%s\tCONTACTS\tHANDLE MIN\tCOST\tSHARE\n", strings.ToUpper(r.By))
			for _, x := range r.Rows {
				fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\n", x.Key, x.Contacts, x.HandleMinutes, money(x.Cost), percent(&x.Share))
			}
		}
	case "repeat":
		var r analytics.RepeatReport
		if err = json.Unmarshal(data, &r); err == nil {
			fmt.Fprintf(tw, "%s to %s, repeats within %s\n\n", r.From, r.To, r.Window)
			fmt.Fprintln(tw, "REASON\tCONTACTS\tREPEATS\tRATE")
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", "(overall)", r.Overall.Contacts, r.Overall.Repeats, percent(r.Overall.Rate))
			for _, x := range r.Reasons {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", x.Reason, x.Contacts, x.Repeats, percent(x.Rate))
			}
		}
	}
	if err != nil {
		return fmt.Errorf("report %s: decode answer: %w", kind, err)
	}
	return tw.Flush()
}

func printCPX(tw *tabwriter.Writer, r analytics.CPXReport) {
	o := r.Overall
	fmt.Fprintf(tw, "contacts per %s, %s to %s: %s (%d contacts, %d %ss); %s to %s: %s; change %s\n\n",
		r.Unit, r.From, r.To, fmtRatio(o.Total.CPX), o.Total.Contacts, o.Total.Units, r.Unit,
		r.PreviousFrom, r.PreviousTo, fmtRatio(o.Previous.CPX), fmtChange(o.Change))
	fmt.Fprintf(tw, "%s\tCONTACTS\t%sS\tCPX\n", strings.ToUpper(r.Interval), strings.ToUpper(r.Unit))
	for _, p := range o.Points {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", p.Period, p.Contacts, p.Units, fmtRatio(p.CPX))
	}
	if len(r.Series) == 0 {
		return
	}
	fmt.Fprintf(tw, "\n%s\tCONTACTS\tCPX\tPREVIOUS CPX\tCHANGE\n", strings.ToUpper(r.By))
	for _, s := range r.Series {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.Key, s.Total.Contacts, fmtRatio(s.Total.CPX), fmtRatio(s.Previous.CPX), fmtChange(s.Change))
	}
}

func fmtRatio(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f, 'f', 4, 64)
}

func percent(f *float64) string {
	if f == nil {
		return "-"
	}
	return strconv.FormatFloat(*f*100, 'f', 1, 64) + "%"
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

func fmtChange(c analytics.Change) string {
	if c.CPXRatio == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", *c.CPXRatio*100)
}
