// Package webpublish puts a static single-page-app bundle live on S3 behind CloudFront
// without breaking open browser sessions.
//
// A publish compares the bundle with what the bucket holds (ETag = MD5 of single-part
// uploads, with a sha256 kept in object metadata as a fallback), uploads only what
// changed through a bounded worker pool, content-hashed assets first and entry points
// (index.html, manifests, service workers) last, records the release in a manifest
// object (ManifestKey), prunes assets no longer referenced by the last N releases, and
// invalidates the changed non-hashed paths in CloudFront.
//
// Planning (Plan) only reads; Apply changes the bucket and the distribution. A dry run
// is a Plan that is printed and not applied.
package webpublish
