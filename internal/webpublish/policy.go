package webpublish

import (
	"fmt"
	"path"
	"strings"
)

// Kind says how a file is cached and when it is uploaded.
type Kind int

const (
	// KindHashed files have a content hash in their name (or live under a hashed-asset
	// directory): a new version always has a new name, so they are cached forever and
	// never invalidated.
	KindHashed Kind = iota
	// KindOther files keep their name across versions (favicons, images in public/).
	KindOther
	// KindEntry files are what a browser loads first and which name the others
	// (index.html, manifests, service workers); they are uploaded last.
	KindEntry
)

func (k Kind) String() string {
	switch k {
	case KindHashed:
		return "hashed"
	case KindOther:
		return "other"
	case KindEntry:
		return "entry"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Cache-Control defaults.
const (
	DefaultHashedCacheControl = "public, max-age=31536000, immutable"
	// Browsers revalidate with the ETag on every load: cheap, and never stale.
	DefaultEntryCacheControl = "no-cache"
	DefaultOtherCacheControl = "no-cache"
)

// DefaultEntryPatterns are path.Match patterns, matched against the base name, of the
// files a browser fetches first.
var DefaultEntryPatterns = []string{
	"*.html", "*.htm",
	"manifest.json", "*.webmanifest", "asset-manifest.json",
	"service-worker.js", "sw.js",
	"robots.txt", "favicon.ico",
}

// DefaultHashedDirs are top-level directories whose files bundlers always name by
// content (create-react-app's static/, Vite's assets/).
var DefaultHashedDirs = []string{"static", "assets"}

// DefaultHashedName reports whether a base name carries a content hash: a segment
// (between dots or dashes, not the extension) of at least 8 letters, digits or
// underscores containing a digit, as in main.8a3b2c1d.js, 2.abcdef12.chunk.css or
// index-B7xk2pQ9.js; or a leading all-hex segment, as in 3f9a0c1b2d4e.js. The digit
// rule keeps words such as "manifest" or "service-worker" from counting as hashes.
func DefaultHashedName(base string) bool {
	segs := strings.FieldsFunc(base, func(r rune) bool { return r == '.' || r == '-' })
	if len(segs) < 2 {
		return false
	}
	segs = segs[:len(segs)-1] // the extension
	if isHex(segs[0]) && len(segs[0]) >= minHashLen && hasDigit(segs[0]) {
		return true
	}
	for _, s := range segs[1:] {
		if len(s) >= minHashLen && isWord(s) && hasDigit(s) {
			return true
		}
	}
	return false
}

const minHashLen = 8

func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}

func isWord(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// Policy decides each file's kind, Cache-Control and Content-Type. The zero value is
// not usable; start from DefaultPolicy.
type Policy struct {
	HashedCacheControl string
	EntryCacheControl  string
	OtherCacheControl  string
	// EntryPatterns win over the hashed rules.
	EntryPatterns []string
	HashedDirs    []string
	// HashedName reports whether a base name carries a content hash; nil means no
	// file is hashed by name (only by directory).
	HashedName func(base string) bool
}

// DefaultPolicy returns the defaults described on the constants above.
func DefaultPolicy() Policy {
	return Policy{
		HashedCacheControl: DefaultHashedCacheControl,
		EntryCacheControl:  DefaultEntryCacheControl,
		OtherCacheControl:  DefaultOtherCacheControl,
		EntryPatterns:      append([]string(nil), DefaultEntryPatterns...),
		HashedDirs:         append([]string(nil), DefaultHashedDirs...),
		HashedName:         DefaultHashedName,
	}
}

// Validate reports configuration mistakes before anything is read or uploaded.
func (p Policy) Validate() error {
	for name, v := range map[string]string{
		"hashed": p.HashedCacheControl, "entry": p.EntryCacheControl, "other": p.OtherCacheControl,
	} {
		if strings.TrimSpace(v) == "" {
			return &ConfigError{Field: name + " Cache-Control", Reason: "is empty; give a value such as \"no-cache\""}
		}
		if strings.ContainsAny(v, "\r\n") {
			return &ConfigError{Field: name + " Cache-Control", Reason: "contains a line break"}
		}
	}
	for _, pat := range p.EntryPatterns {
		if _, err := path.Match(pat, ""); err != nil {
			return &ConfigError{Field: "entry pattern " + pat, Reason: err.Error()}
		}
	}
	return nil
}

// Classify returns the kind of the object key (slash-separated, no leading slash).
func (p Policy) Classify(key string) Kind { return p.classifier().kind(key) }

// classifier is a Policy with its entry patterns sorted once by shape: literal names
// and "*.ext" suffixes are compared directly, only other patterns go through
// path.Match. A scan classifies every file of the bundle.
type classifier struct {
	p        Policy
	names    map[string]bool
	suffixes []string
	patterns []string
}

func (p Policy) classifier() classifier {
	const meta = `*?[\`
	c := classifier{p: p, names: map[string]bool{}}
	for _, pat := range p.EntryPatterns {
		suffix, star := strings.CutPrefix(pat, "*")
		switch {
		case !strings.ContainsAny(pat, meta):
			c.names[pat] = true
		case star && !strings.ContainsAny(suffix, meta):
			c.suffixes = append(c.suffixes, suffix) // a base name has no '/', which '*' would not match
		default:
			c.patterns = append(c.patterns, pat)
		}
	}
	return c
}

func (c classifier) entry(base string) bool {
	if c.names[base] {
		return true
	}
	for _, s := range c.suffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	for _, pat := range c.patterns {
		if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

func (c classifier) kind(key string) Kind {
	base := path.Base(key)
	if c.entry(base) {
		return KindEntry
	}
	if top, _, found := strings.Cut(key, "/"); found {
		for _, d := range c.p.HashedDirs {
			if top == d {
				return KindHashed
			}
		}
	}
	if c.p.HashedName != nil && c.p.HashedName(base) {
		return KindHashed
	}
	return KindOther
}

// CacheControl returns the Cache-Control header for a file of the given kind.
func (p Policy) CacheControl(k Kind) string {
	switch k {
	case KindHashed:
		return p.HashedCacheControl
	case KindEntry:
		return p.EntryCacheControl
	default:
		return p.OtherCacheControl
	}
}
