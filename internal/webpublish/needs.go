package webpublish

import "github.com/knowmetools/km-release/internal/config"

// Needs are the environment's names a publish reads: the bucket, and the
// distribution whose cache it invalidates.
var Needs = config.Needs{Required: []config.Field{config.WebBucket, config.DistributionID}}
