package roles

import (
	"errors"
	"fmt"
	"time"
)

// Errors a client-side check reports; wrapped with the role and versions.
var (
	ErrExpired  = errors.New("metadata has expired")
	ErrRollback = errors.New("version rollback")
)

// RootStep records one step of a root chain: root N+1 checked under root
// N's keys (Old) and under its own (New).
type RootStep struct {
	Version int64
	Old     *VerifyReport
	New     *VerifyReport
}

// VerifyRootUpdate checks that next may follow trusted, as the TUF client
// workflow (5.3.4–5.3.5) requires: signed by a threshold of trusted's root
// keys and by a threshold of its own, and of version exactly one more.
func VerifyRootUpdate(trusted, next *Metadata[*Root]) (RootStep, error) {
	return VerifyRootUpdateWith(trusted, next, VerifyOptions{})
}

// VerifyRootUpdateWith is VerifyRootUpdate with relaxed rules, for a
// repository this tool did not sign (see VerifyWith).
func VerifyRootUpdateWith(trusted, next *Metadata[*Root], opts VerifyOptions) (RootStep, error) {
	step := RootStep{Version: next.Signed.Version}
	oldDel, _ := trusted.Signed.Delegation(TypeRoot)
	rep, err := VerifyWith(next, oldDel, opts)
	step.Old = rep
	if err != nil {
		return step, fmt.Errorf("root v%d under root v%d's keys: %w", next.Signed.Version, trusted.Signed.Version, err)
	}
	newDel, _ := next.Signed.Delegation(TypeRoot)
	rep, err = VerifyWith(next, newDel, opts)
	step.New = rep
	if err != nil {
		return step, fmt.Errorf("root v%d under its own keys: %w", next.Signed.Version, err)
	}
	if want := trusted.Signed.Version + 1; next.Signed.Version != want {
		return step, fmt.Errorf("root v%d cannot follow root v%d: %w (want version %d)", next.Signed.Version, trusted.Signed.Version, ErrRollback, want)
	}
	return step, nil
}

// VerifySelfSigned checks that a root is signed by a threshold of its own
// root keys: a pinned root that is not is unusable.
func VerifySelfSigned(root *Metadata[*Root]) (*VerifyReport, error) {
	del, _ := root.Signed.Delegation(TypeRoot)
	rep, err := Verify(root, del)
	if err != nil {
		return rep, fmt.Errorf("root v%d under its own keys: %w", root.Signed.Version, err)
	}
	return rep, nil
}

// VerifyRootChain walks from a trusted root through the newer roots given
// in order, each checked with VerifyRootUpdate, and returns the newest. As
// the spec asks (5.3.10), expiry is checked on the newest root only, at
// time now: older roots may have expired on the way.
func VerifyRootChain(trusted *Metadata[*Root], next []*Metadata[*Root], now time.Time) (*Metadata[*Root], []RootStep, error) {
	var steps []RootStep
	cur := trusted
	for _, n := range next {
		step, err := VerifyRootUpdate(cur, n)
		steps = append(steps, step)
		if err != nil {
			return cur, steps, err
		}
		cur = n
	}
	if cur.Signed.IsExpired(now) {
		return cur, steps, fmt.Errorf("root v%d: %w on %s", cur.Signed.Version, ErrExpired, cur.Signed.Expires.Format(TimeFormat))
	}
	return cur, steps, nil
}

// CheckNotRolledBack checks that a role's new version is above the one
// trusted before, or equal to it when allowEqual is set (a client that
// sees the same timestamp twice, say).
func CheckNotRolledBack(role string, trusted, next int64, allowEqual bool) error {
	if next > trusted || (allowEqual && next == trusted) {
		return nil
	}
	return fmt.Errorf("%s v%d after v%d: %w", role, next, trusted, ErrRollback)
}
