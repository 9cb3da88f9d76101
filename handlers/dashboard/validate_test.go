package dashboard_test

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// voidElements have no end tag (HTML Living Standard, 13.1.2).
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// validateHTML checks a page or a fragment: well-formed (every element
// closed, in order, no stray end tag), unique ids, every reference to an id
// (label for, aria-labelledby, aria-describedby, list) resolving, every form
// control labelled, every button and link named, every POST form carrying a
// CSRF token, no inline script or style (the CSP forbids them), and, for a whole page, a language, a title, one main landmark
// and one h1. It returns every problem found.
func validateHTML(page []byte, whole bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Well-formedness, with the tokenizer: the parser would repair what we want to see.
	z := html.NewTokenizer(bytes.NewReader(page))
	var open []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				add("tokenizer: %v", z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken:
			if !voidElements[tok.Data] {
				open = append(open, tok.Data)
			}
		case html.EndTagToken:
			if voidElements[tok.Data] {
				add("end tag of void element </%s>", tok.Data)
				continue
			}
			if len(open) == 0 || open[len(open)-1] != tok.Data {
				add("</%s> closes %v", tok.Data, open)
				if i := slices.Index(open, tok.Data); i >= 0 {
					open = open[:i]
				}
				continue
			}
			open = open[:len(open)-1]
		case html.SelfClosingTagToken:
			if !voidElements[tok.Data] && tok.DataAtom != 0 && !inSVG(tok.Data) {
				add("self-closing non-void element <%s/>", tok.Data)
			}
		}
	}
	if len(open) > 0 {
		add("elements never closed: %v", open)
	}

	var root *html.Node
	var err error
	if whole {
		root, err = html.Parse(bytes.NewReader(page))
	} else {
		var nodes []*html.Node
		nodes, err = html.ParseFragment(bytes.NewReader(page), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
		root = &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
		for _, n := range nodes {
			root.AppendChild(n)
		}
	}
	if err != nil {
		return append(problems, "parse: "+err.Error())
	}
	ids := map[string]int{}
	labelFor := map[string]bool{}
	var all []*html.Node
	for n := range root.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		all = append(all, n)
		if id := attr(n, "id"); id != "" {
			ids[id]++
		}
		if n.Data == "label" && attr(n, "for") != "" {
			labelFor[attr(n, "for")] = true
		}
	}
	for id, n := range ids {
		if n > 1 {
			add("id %q used %d times", id, n)
		}
	}
	counts := map[string]int{}
	for _, n := range all {
		counts[n.Data]++
		for _, ref := range []string{"for", "aria-labelledby", "aria-describedby", "list", "aria-controls"} {
			for _, id := range strings.Fields(attr(n, ref)) {
				if ids[id] == 0 {
					add("<%s %s=%q> names no element", n.Data, ref, id)
				}
			}
		}
		// The Content-Security-Policy allows only the page's own script and
		// stylesheet files: inline code would be blocked.
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				add("<%s %s=...>: inline style or script, which the CSP blocks", n.Data, a.Key)
			}
		}
		switch n.Data {
		case "script":
			if attr(n, "src") == "" {
				add("inline <script>, which the CSP blocks")
			}
		case "style":
			add("inline <style>, which the CSP blocks")
		case "input", "select", "textarea":
			typ := attr(n, "type")
			if typ == "hidden" || typ == "submit" {
				continue
			}
			if !labelFor[attr(n, "id")] && attr(n, "aria-label") == "" && attr(n, "aria-labelledby") == "" {
				add("<%s name=%q> has no label", n.Data, attr(n, "name"))
			}
		case "button", "a":
			if strings.TrimSpace(textOf(n)) == "" && attr(n, "aria-label") == "" {
				add("<%s> has no accessible name", n.Data)
			}
			if n.Data == "a" && attr(n, "href") == "" {
				add("<a> without href")
			}
		case "img":
			if _, ok := attrOK(n, "alt"); !ok {
				add("<img> without alt")
			}
		case "form":
			if strings.EqualFold(attr(n, "method"), "post") && !hasCSRF(n) {
				add("POST form to %q has no csrf or nonce field", attr(n, "action"))
			}
		case "th":
			if attr(n, "scope") == "" {
				add("<th> without scope")
			}
		case "table":
			if !hasChild(n, "caption") {
				add("<table> without caption")
			}
		}
	}
	if whole {
		htmlEl := find(root, "html")
		if htmlEl == nil || attr(htmlEl, "lang") == "" {
			add("<html> without lang")
		}
		if t := find(root, "title"); t == nil || strings.TrimSpace(textOf(t)) == "" {
			add("no title")
		}
		if counts["main"] != 1 {
			add("%d main landmarks, want 1", counts["main"])
		}
		if counts["h1"] != 1 {
			add("%d h1, want 1", counts["h1"])
		}
		if find(root, "meta") == nil {
			add("no meta (viewport)")
		}
	}
	return problems
}

func inSVG(tag string) bool {
	switch tag {
	case "line", "polyline", "path", "rect", "circle":
		return true
	}
	return false
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

func find(root *html.Node, tag string) *html.Node {
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && n.Data == tag {
			return n
		}
	}
	return nil
}

func hasChild(n *html.Node, tag string) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			return true
		}
	}
	return false
}

func hasCSRF(form *html.Node) bool {
	for n := range form.Descendants() {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" &&
			(attr(n, "name") == "csrf" || attr(n, "name") == "nonce") && attr(n, "value") != "" {
			return true
		}
	}
	return false
}
