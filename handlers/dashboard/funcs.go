package dashboard

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"lower": func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) },
	// seconds turns milliseconds into whole seconds.
	"seconds": func(ms int) string { return strconv.Itoa(max(ms/1000, 1)) },
	// short is the start of an id, enough to tell orders apart on a screen.
	"short": func(id string) string {
		if len(id) > 13 {
			return id[:13] + "…"
		}
		return id
	},
	// ordersQuery is the filter of the orders fragment, as a query string.
	"ordersQuery": func(o ordersData) string {
		v := url.Values{}
		if o.Status != "" {
			v.Set("status", o.Status)
		}
		if o.Customer != "" {
			v.Set("customer_id", o.Customer)
		}
		return v.Encode()
	},
	"poisonView": func(p poisonData, csrf string) poisonFragment { return poisonFragment{poisonData: p, CSRF: csrf} },
}
