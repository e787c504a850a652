package ceremony

import (
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// gotufTrusted starts go-tuf's client-side state from a root, judging
// expiry at ref (the ceremony's reference time, not the wall clock).
func gotufTrusted(root []byte, ref time.Time) (*trustedmetadata.TrustedMetadata, error) {
	tm, err := trustedmetadata.New(root)
	if err != nil {
		return nil, err
	}
	tm.RefTime = ref
	return tm, nil
}
