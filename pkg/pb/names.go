package pb

import "strings"

// Short returns the method's name as the HTTP API spells it: agent, rule,
// model, review (or unspecified).
func (m TagMethod) Short() string {
	return strings.ToLower(strings.TrimPrefix(m.String(), "TAG_METHOD_"))
}
