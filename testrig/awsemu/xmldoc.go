package awsemu

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// xmlNode is any XML element, kept whole so a response can be edited and written back
// with nothing lost.
type xmlNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xmlNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

// parseXML reads a document moto wrote.
func parseXML(b []byte) (*xmlNode, error) {
	var doc xmlNode
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	doc.dropNamespaces()
	return &doc, nil
}

// dropNamespaces clears the namespace the decoder copied into every element; the
// root's xmlns attribute still declares it, so the written document says the same.
func (n *xmlNode) dropNamespaces() {
	n.XMLName.Space = ""
	for i := range n.Children {
		n.Children[i].dropNamespaces()
	}
}

// path finds the first descendant along the given element names.
func (n *xmlNode) path(names ...string) *xmlNode {
	cur := n
	for _, name := range names {
		var next *xmlNode
		for i := range cur.Children {
			if cur.Children[i].XMLName.Local == name {
				next = &cur.Children[i]
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

// text is the text of the descendant along names, "" when there is none.
func (n *xmlNode) text(names ...string) string {
	if c := n.path(names...); c != nil {
		return strings.TrimSpace(c.Text)
	}
	return ""
}

// all returns the descendants named name, in document order. The pointers stay valid
// until an ancestor's children change.
func (n *xmlNode) all(name string) []*xmlNode {
	var out []*xmlNode
	for i := range n.Children {
		c := &n.Children[i]
		if c.XMLName.Local == name {
			out = append(out, c)
		}
		out = append(out, c.all(name)...)
	}
	return out
}

// set gives the child named name the text, adding the child when there is none.
func (n *xmlNode) set(name, text string) {
	if c := n.path(name); c != nil {
		c.Text = text
		return
	}
	n.Children = append(n.Children, xmlNode{XMLName: xml.Name{Local: name}, Text: text})
}

// remove drops the children named name.
func (n *xmlNode) remove(name string) {
	kept := n.Children[:0]
	for _, c := range n.Children {
		if c.XMLName.Local != name {
			kept = append(kept, c)
		}
	}
	n.Children = kept
}

// editXML rewrites a successful XML response with edit; a body that does not parse is
// passed on as moto wrote it.
func editXML(resp *http.Response, edit func(doc *xmlNode) error) error {
	if resp.StatusCode/100 != 2 {
		return nil
	}
	return rewriteBody(resp, func(b []byte) ([]byte, error) {
		doc, err := parseXML(b)
		if err != nil {
			return b, nil
		}
		if err := edit(doc); err != nil {
			return nil, err
		}
		out, err := xml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		return append([]byte(xml.Header), out...), nil
	})
}
