package awsemu

import (
	"net/http"
	"net/url"
)

// fixDBParameters: moto keeps only the parameters set on a group (it has no engine
// defaults), so every one it lists is the user's. AWS marks those Source=user, and the
// Terraform provider keeps only such parameters in its state. Asked for another
// source (system, engine-default), there are none.
func fixDBParameters(r *http.Request) responseFix {
	vals, _ := url.ParseQuery(string(readBody(r)))
	source := vals.Get("Source")
	return func(resp *http.Response) error {
		return editXML(resp, func(doc *xmlNode) error {
			params := doc.path("DescribeDBParametersResult", "Parameters")
			if params == nil {
				return nil
			}
			if source != "" && source != "user" {
				params.Children = nil
				return nil
			}
			for i := range params.Children {
				params.Children[i].set("Source", "user")
			}
			return nil
		})
	}
}
