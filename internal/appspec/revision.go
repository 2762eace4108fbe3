package appspec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// RevisionContent returns the AppSpec text a CodeDeploy revision carries: the
// AppSpecContent type's content or the (deprecated) String type's content. When the
// revision states a SHA-256, the content must match it.
func RevisionContent(rev *types.RevisionLocation) ([]byte, error) {
	if rev == nil {
		return nil, ErrNoContent
	}
	kind := rev.RevisionType
	if kind == "" {
		// Some responses leave the type out; the populated field says which it is.
		switch {
		case rev.AppSpecContent != nil:
			kind = types.RevisionLocationTypeAppSpecContent
		case rev.String_ != nil:
			kind = types.RevisionLocationTypeString
		}
	}
	var content, sum *string
	switch kind {
	case types.RevisionLocationTypeAppSpecContent:
		if rev.AppSpecContent != nil {
			content, sum = rev.AppSpecContent.Content, rev.AppSpecContent.Sha256
		}
	case types.RevisionLocationTypeString:
		if rev.String_ != nil {
			content, sum = rev.String_.Content, rev.String_.Sha256
		}
	case "":
	default:
		return nil, fmt.Errorf("revision type %s is not supported for ECS deployments: use AppSpecContent", rev.RevisionType)
	}
	if content == nil || strings.TrimSpace(*content) == "" {
		return nil, ErrNoContent
	}
	if s := aws.ToString(sum); s != "" && !strings.EqualFold(s, Sha256(*content)) {
		return nil, fmt.Errorf("the revision's AppSpec content does not match its SHA-256 %s", s)
	}
	return []byte(*content), nil
}

// FromRevision parses and validates the AppSpec a CodeDeploy revision carries.
func FromRevision(rev *types.RevisionLocation) (*AppSpec, error) {
	b, err := RevisionContent(rev)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Revision renders the spec into an AppSpecContent revision for CreateDeployment,
// with its SHA-256 so CodeDeploy can check it.
func (a *AppSpec) Revision(f Format) (*types.RevisionLocation, error) {
	b, err := a.Render(f)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &types.RevisionLocation{
		RevisionType:   types.RevisionLocationTypeAppSpecContent,
		AppSpecContent: &types.AppSpecContent{Content: aws.String(s), Sha256: aws.String(Sha256(s))},
	}, nil
}

// Sha256 is the hex SHA-256 of revision content, as CodeDeploy computes it.
func Sha256(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}
