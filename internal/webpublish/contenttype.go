package webpublish

import (
	"mime"
	"path"
	"strings"
)

// contentTypes pins the types browsers are strict about. The stdlib table (and the
// system's mime.types behind it) differs between machines and has historically mapped
// .js to application/javascript or .map/.webmanifest to nothing, so these win.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".cjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".svg":         "image/svg+xml",
	".wasm":        "application/wasm",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".eot":         "application/vnd.ms-fontobject",
	".ico":         "image/x-icon",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".txt":         "text/plain; charset=utf-8",
	".xml":         "application/xml",
	".pdf":         "application/pdf",
}

// defaultContentType is what S3 itself would assume; browsers download it rather than
// guess, which is safer than a wrong guess.
const defaultContentType = "application/octet-stream"

// ContentType returns the Content-Type for an object key, from its extension: the
// pinned table first, then the stdlib/system table, then application/octet-stream.
func ContentType(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if ext == "" {
		return defaultContentType
	}
	if t, ok := contentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return defaultContentType
}
