package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nocontact/nocontact/services/defects"
)

// runDefects dispatches `nocontact defects <list|eval>`.
func runDefects(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "Usage: nocontact defects <command> [flags]\n\nCommands:\n  list   list the process defects of a running server\n  eval   compare the defects a demo run opened with its ground truth (--truth)")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage()
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch args[0] {
	case "list":
		return runDefectsList(ctx, args[1:], stdout, stderr)
	case "eval":
		return runDefectsEval(ctx, args[1:], stdout, stderr)
	}
	usage()
	return fmt.Errorf("defects: unknown command %q: %w", args[0], errUsage)
}

func runDefectsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var status, owner, biv, sort string
	var limit int
	var asJSON bool
	fs := newFlagSet("defects list", stderr)
	cf.register(fs)
	fs.StringVar(&status, "status", "", "only defects with this `status` (open, acknowledged, fixing, fixed, verified, wontfix)")
	fs.StringVar(&owner, "owner", "", "only defects of this `owner`")
	fs.StringVar(&biv, "biv", "", "only defects of this `kind` (mistake, rework, breakdown, inefficiency, variation)")
	fs.StringVar(&sort, "sort", "impact", "`order`: impact (estimated cost) or recent (last seen)")
	fs.IntVar(&limit, "limit", 50, "most `defects` to list")
	fs.BoolVar(&asJSON, "json", false, "print the JSON answer")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("defects list: unexpected arguments %q", fs.Args())
	}
	q := url.Values{"sort": {sort}, "limit": {fmt.Sprint(limit)}}
	for k, v := range map[string]string{"status": status, "owner": owner, "biv": biv} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var res defects.ListResponse
	if err := newClient(cf).do(ctx, "GET", "/v1/defects?"+q.Encode(), "", nil, &res); err != nil {
		return fmt.Errorf("defects list: %w", err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tBIV\tOCCURRENCES\tCUSTOMERS\tCOST\tOWNER\tLAST SEEN\tTITLE")
	for _, d := range res.Defects {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f\t%s\t%s\t%s\n", d.ID, d.Status, d.BIV, d.Occurrences, d.Customers,
			d.EstimatedCost, d.Owner, d.LastSeen.Format("2006-01-02 15:04"), d.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.Total > len(res.Defects) {
		fmt.Fprintf(stdout, "(%d of %d defects)\n", len(res.Defects), res.Total)
	}
	return nil
}

// defectsEvalLine is the last line `defects eval` prints.
type defectsEvalLine struct {
	Planted                   int     `json:"planted"`
	Detected                  int     `json:"detected"`
	Recall                    float64 `json:"recall"`
	Precision                 float64 `json:"precision"`
	MedianDetectionOccurrence float64 `json:"median_detection_occurrence"`
	VerifiedAfterFix          int     `json:"verified_after_fix"`
}

func runDefectsEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var truthPath string
	var markFixed, noWait bool
	var waitTimeout time.Duration
	fs := newFlagSet("defects eval", stderr)
	cf.register(fs)
	fs.StringVar(&truthPath, "truth", "", "ground truth `file` written by `nocontact demo --truth`")
	fs.BoolVar(&markFixed, "mark-fixed", false, "first mark every detected planted defect fixed as of its planted fix day (changes the server's defects), so that verification can be measured")
	fs.BoolVar(&noWait, "no-wait", false, "do not wait for the server to process everything ingested")
	fs.DurationVar(&waitTimeout, "wait-timeout", 30*time.Minute, "longest `time` to wait for the pipeline to become idle")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: nocontact defects eval --truth FILE [--url URL] [--token TOKEN] [--mark-fixed]\n\n"+
			"Waits until the server has processed everything ingested, compares the defects it opened with the\n"+
			"demo's planted defects and repeat contacts, and prints as its last line:\n"+
			`{"planted":..,"detected":..,"recall":..,"precision":..,"median_detection_occurrence":..,"verified_after_fix":..}`+"\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("defects eval: unexpected arguments %q", fs.Args())
	}
	if truthPath == "" {
		return fmt.Errorf("defects eval: --truth is required: %w", errUsage)
	}
	data, err := os.ReadFile(truthPath)
	if err != nil {
		return fmt.Errorf("defects eval: read truth: %w", err)
	}
	var truth defects.Truth
	if err := json.Unmarshal(data, &truth); err != nil {
		return fmt.Errorf("defects eval: truth %s: %w", truthPath, err)
	}
	client := newClient(cf)
	if !noWait {
		wctx, cancel := context.WithTimeout(ctx, waitTimeout)
		err := client.waitIdle(wctx, 250*time.Millisecond)
		cancel()
		if err != nil {
			return fmt.Errorf("defects eval: wait for the pipeline to be idle: %w", err)
		}
	}
	all, err := fetchDefects(ctx, client)
	if err != nil {
		return err
	}
	ev := defects.Evaluate(truth, all)
	if markFixed {
		marked, err := markPlantedFixed(ctx, client, truth, ev, stderr)
		if err != nil {
			return err
		}
		if marked > 0 {
			if all, err = fetchDefects(ctx, client); err != nil {
				return err
			}
			ev = defects.Evaluate(truth, all)
		}
	}
	fmt.Fprintf(stdout, "defects eval: %d defects opened, %d match a planted defect or genuine repeat contacts\n", ev.Opened, ev.Correct)
	for _, p := range ev.PlantedDetail {
		if p.DefectID == "" {
			fmt.Fprintf(stdout, "  planted %-20s not detected\n", p.Key)
			continue
		}
		fmt.Fprintf(stdout, "  planted %-20s detected at its contact #%d as %s (%s) %q\n", p.Key, p.DetectionOccurrence, p.DefectID, p.Status, p.Title)
	}
	for _, w := range ev.Wrong {
		fmt.Fprintf(stdout, "  unmatched %s\n", w)
	}
	out, err := json.Marshal(defectsEvalLine{
		Planted: ev.Planted, Detected: ev.Detected, Recall: ev.Recall, Precision: ev.Precision,
		MedianDetectionOccurrence: ev.MedianDetectionOccurrence, VerifiedAfterFix: ev.VerifiedAfterFix,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(out))
	return nil
}

// fetchDefects reads every defect, page by page.
func fetchDefects(ctx context.Context, client *apiClient) ([]*defects.Defect, error) {
	var all []*defects.Defect
	offset := 0
	for {
		var res defects.ListResponse
		if err := client.do(ctx, "GET", fmt.Sprintf("/v1/defects?limit=1000&offset=%d", offset), "", nil, &res); err != nil {
			return nil, fmt.Errorf("defects eval: list defects: %w", err)
		}
		all = append(all, res.Defects...)
		if res.NextOffset == 0 {
			return all, nil
		}
		offset = res.NextOffset
	}
}

// markPlantedFixed marks the defect of every detected planted defect fixed
// as of the planted fix day, as its owner would once the fix shipped.
func markPlantedFixed(ctx context.Context, client *apiClient, truth defects.Truth, ev defects.Evaluation, stderr io.Writer) (int, error) {
	fixDay := map[string]string{}
	for _, p := range truth.Defects {
		fixDay[p.Key] = p.FixDate
	}
	marked := 0
	for _, p := range ev.PlantedDetail {
		if p.DefectID == "" || (p.Status != defects.StatusOpen && p.Status != defects.StatusAcknowledged && p.Status != defects.StatusFixing) {
			continue
		}
		body := map[string]string{"status": defects.StatusFixed, "fixed_at": fixDay[p.Key], "note": "marked fixed by `defects eval` at the planted fix day"}
		err := client.do(ctx, "PATCH", "/v1/defects/"+url.PathEscape(p.DefectID), "", body, nil)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && (ae.Status == 409 || ae.Status == 400):
			fmt.Fprintf(stderr, "defects eval: %s not marked fixed: %s\n", p.DefectID, strings.TrimSpace(ae.Message))
		case err != nil:
			return marked, fmt.Errorf("defects eval: mark %s fixed: %w", p.DefectID, err)
		default:
			marked++
		}
	}
	return marked, nil
}
