package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", stderr)
	var cf clientFlags
	cf.register(fs)
	role := fs.String("role", "agent", "role of a new token: admin, ops, agent, ingest")
	name := fs.String("name", "", "name of a new token (who or what uses it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage:\n  nocontact token create --name NAME --role ROLE\n  nocontact token list\n  nocontact token revoke HASH\n\nFlags:")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := args[0]
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	c := newClient(cf)
	switch verb {
	case "create":
		var out map[string]any
		if err := c.do(ctx, http.MethodPost, "/v1/tokens", "", map[string]string{"name": *name, "role": *role}, &out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "token %q (%s) created; it is shown only now:\n", out["name"], out["role"])
		fmt.Fprintln(stdout, out["token"])
		return nil
	case "list":
		var out struct {
			Tokens []struct {
				Hash      string    `json:"hash"`
				Name      string    `json:"name"`
				Role      string    `json:"role"`
				CreatedAt time.Time `json:"created_at"`
			} `json:"tokens"`
		}
		if err := c.do(ctx, http.MethodGet, "/v1/tokens", "", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "HASH\tNAME\tROLE\tCREATED")
		for _, t := range out.Tokens {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Hash, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("token revoke takes one token hash (see token list): %w", errUsage)
		}
		return c.do(ctx, http.MethodDelete, "/v1/tokens/"+fs.Arg(0), "", nil, nil)
	}
	fs.Usage()
	return fmt.Errorf("unknown token command %q: %w", verb, errUsage)
}
