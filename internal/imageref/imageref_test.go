package imageref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		ref    string
		pinned bool
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/km-api@sha256:" + strings.Repeat("a", 64), true},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/km-api:1.2.3", false},
		{"127.0.0.1:5000/km/api:abc@sha256:" + strings.Repeat("b", 64), true},
		{"127.0.0.1:5000/km/api", false},
	} {
		ref, err := Parse(tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		if ref.Pinned() != tc.pinned {
			t.Errorf("%s: pinned = %v", tc.ref, ref.Pinned())
		}
	}
	if _, err := Parse("UPPER/Case::bad"); err == nil {
		t.Error("bad reference accepted")
	}
	if !isLoopbackRegistry("127.0.0.1:5000/x") || !isLoopbackRegistry("localhost:1/x") || isLoopbackRegistry("example.com/x") {
		t.Error("isLoopbackRegistry")
	}
}
