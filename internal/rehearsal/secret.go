package rehearsal

import (
	"crypto/rand"
	"encoding/hex"
)

// randomSecret is a fresh password: the rehearsal never ships fixed credentials.
func randomSecret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
