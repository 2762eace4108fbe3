package awsemu

import (
	"crypto/sha256"
	"encoding/base32"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// dbiResourceID is an instance's DbiResourceId: moto gives every instance of an
// account the same one, and the Terraform provider, which identifies an instance by it,
// then finds two instances once a second environment has its database.
func dbiResourceID(identifier string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(identifier)))
	return "db-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:26]
}

// routeDBResourceIDs makes DbiResourceId unique per instance: answers carry
// dbiResourceID, and a dbi-resource-id filter is asked of moto by the identifier it
// stands for. fix is the response fix the request has already, if any.
func (e *Emulator) routeDBResourceIDs(r *http.Request, fix responseFix) *http.Request {
	form, err := url.ParseQuery(string(readBody(r)))
	if err == nil && form.Get("Action") == "DescribeDBInstances" {
		changed := false
		for k, v := range form {
			name, ok := strings.CutSuffix(k, ".Name")
			if !ok || len(v) != 1 || v[0] != "dbi-resource-id" {
				continue
			}
			for vk, ids := range form {
				if !strings.HasPrefix(vk, name+".Values.") || len(ids) != 1 {
					continue
				}
				e.dbIDsMu.Lock()
				identifier, known := e.dbIDs[ids[0]]
				e.dbIDsMu.Unlock()
				if known {
					form.Set(vk, identifier)
					form.Set(k, "db-instance-id")
					changed = true
				}
			}
		}
		if changed {
			body := form.Encode()
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
	}
	return withFix(r, func(resp *http.Response) error {
		if fix != nil {
			if err := fix(resp); err != nil {
				return err
			}
		}
		return editXML(resp, func(doc *xmlNode) error {
			for _, inst := range doc.all("DBInstance") {
				identifier := inst.text("DBInstanceIdentifier")
				if identifier == "" || inst.path("DbiResourceId") == nil {
					continue
				}
				id := dbiResourceID(identifier)
				inst.set("DbiResourceId", id)
				e.dbIDsMu.Lock()
				e.dbIDs[id] = identifier
				e.dbIDsMu.Unlock()
			}
			return nil
		})
	})
}
