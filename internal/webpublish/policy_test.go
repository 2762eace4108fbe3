package webpublish

import (
	"path"
	"testing"
)

func TestClassify(t *testing.T) {
	p := DefaultPolicy()
	cases := map[string]Kind{
		"index.html":                            KindEntry,
		"about/index.html":                      KindEntry,
		"manifest.json":                         KindEntry,
		"site.webmanifest":                      KindEntry,
		"asset-manifest.json":                   KindEntry,
		"service-worker.js":                     KindEntry,
		"sw.js":                                 KindEntry,
		"robots.txt":                            KindEntry,
		"favicon.ico":                           KindEntry,
		"static/js/main.8a3b2c1d.js":            KindHashed,
		"static/js/2.abcdef12.chunk.js":         KindHashed,
		"static/js/main.8a3b2c1d.js.map":        KindHashed,
		"static/media/logo.svg":                 KindHashed, // static/ is bundler-owned
		"assets/index-B7xk2pQ9.js":              KindHashed,
		"precache-manifest.3f9a0c1b2d4e5f60.js": KindHashed,
		"3f9a0c1b.js":                           KindHashed,
		"chunk-9AB3CD7Z.mjs":                    KindHashed,
		"logo192.png":                           KindOther,
		"images/team-photo.jpg":                 KindOther,
		"manifestation.js":                      KindOther,
		"fonts/inter-v12.woff2":                 KindOther, // "v12" is too short to be a hash
		"deadbeef.js":                           KindOther, // no digit: a word, not a hash
	}
	for key, want := range cases {
		if got := p.Classify(key); got != want {
			t.Errorf("Classify(%q) = %s, want %s", key, got, want)
		}
	}
}

func TestContentType(t *testing.T) {
	cases := map[string]string{
		"index.html":                   "text/html; charset=utf-8",
		"static/js/main.8a3b2c1d.js":   "text/javascript; charset=utf-8",
		"m.mjs":                        "text/javascript; charset=utf-8",
		"a.CSS":                        "text/css; charset=utf-8",
		"logo.svg":                     "image/svg+xml",
		"manifest.json":                "application/json",
		"main.js.map":                  "application/json",
		"site.webmanifest":             "application/manifest+json",
		"f.woff2":                      "font/woff2",
		"x.wasm":                       "application/wasm",
		"README":                       "application/octet-stream",
		"blob.nosuchextensionanywhere": "application/octet-stream",
	}
	for key, want := range cases {
		if got := ContentType(key); got != want {
			t.Errorf("ContentType(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	p := DefaultPolicy()
	p.EntryCacheControl = " "
	if err := p.Validate(); err == nil {
		t.Fatal("empty Cache-Control accepted")
	}
	p = DefaultPolicy()
	p.EntryPatterns = append(p.EntryPatterns, "[")
	if err := p.Validate(); err == nil {
		t.Fatal("bad pattern accepted")
	}
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEntryPatternsMatchLikePathMatch(t *testing.T) {
	patterns := []string{"*.html", "manifest.json", "*.min.*", "f?o.js", "[ab].js", "*", "*\\*", ""}
	bases := []string{"index.html", "a.html.map", "manifest.json", "x.manifest.json", "a.min.js", "foo.js", "a.js", "c.js", "*", "", ".html"}
	for _, pat := range patterns {
		c := Policy{EntryPatterns: []string{pat}}.classifier()
		for _, base := range bases {
			want, _ := path.Match(pat, base)
			if got := c.entry(base); got != want {
				t.Errorf("pattern %q, base %q: %v, path.Match says %v", pat, base, got, want)
			}
		}
	}
}
