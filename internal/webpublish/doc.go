// Package webpublish puts a static single-page-app bundle live on S3 behind CloudFront
// without breaking open browser sessions.
//
// A publish hashes the bundle (in parallel, streamed) and compares it with the live
// release's record (record.go) instead of listing the bucket, so its requests grow with
// what changed, not with the bundle. It writes the new release's record first (the
// keys it is about to change, for a re-run after a failure), uploads only what changed
// through a bounded worker pool, content-hashed assets first and entry points
// (index.html, manifests, service workers) last, invalidates the changed non-hashed
// paths in CloudFront, deletes files no kept release needs, and names the release live
// in a small index (ManifestKey). The bucket is listed only when the records may be
// stale (none yet, another bucket's, an older kmdeploy's) or when Options.Verify asks.
//
// Planning (MakePlan) only reads; Apply changes the bucket and the distribution. A dry
// run is a Plan that is printed and not applied.
package webpublish
