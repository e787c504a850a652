package ceremony

import (
	"fmt"
	"github.com/ceremony-tuf/ceremony/roles"
	"slices"
)

// ToSign returns the staged roles the key keyid may sign and has not
// signed yet, in the order the ceremony staged them, or the error Sign
// would refuse that key with: ErrState once publishing has started or the
// ceremony is closed, or when the key has nothing left to sign;
// ErrWrongKey for a key that is no participant's. A face asks it before
// it shows the review or asks a PIN, with the key's public half read
// without logging in, so that a signer is refused before anything else.
func (s *State) ToSign(keyid string) ([]*RoleState, error) {
	if s.publishing != nil || s.Closed {
		return nil, fmt.Errorf("%w: publishing has started; no more signatures are taken", ErrState)
	}
	pt := s.Plan.participantByKeyID(keyid)
	if pt == nil {
		return nil, fmt.Errorf("%w: key %s is none of the participants' keys; check you plugged in the right device", ErrWrongKey, roles.ShortID(keyid))
	}
	var out []*RoleState
	for _, r := range s.Roles {
		if !r.Online && !r.Included && r.mayBeSignedBy(keyid) && !r.signedBy(keyid) {
			// The face shows these bytes' digest for the signer to compare.
			if err := r.Load(); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		signed := slices.ContainsFunc(s.Roles, func(r *RoleState) bool { return r.signedBy(keyid) })
		why := "it signs none of the roles staged here"
		if signed {
			why = "it has signed every role it may sign"
		}
		return nil, fmt.Errorf("%w: %s's key %s has nothing left to sign: %s", ErrState, pt.Name, roles.ShortID(keyid), why)
	}
	return out, nil
}

// previous is what a request for role carries of the trusted repository
// the ceremony started from: the role's previous version and the files
// that delegate to it from below root (see Request), nil for a role the
// ceremony creates.
func (s *State) previous(role string) (prev []byte, delegators [][]byte, err error) {
	repo, err := s.repository()
	if repo == nil || err != nil {
		return nil, nil, err
	}
	type marshaler interface{ MarshalJSON() ([]byte, error) }
	var m marshaler
	switch {
	case role == RoleRoot:
		m = repo.Root
	case role == RoleTargets:
		m = repo.Targets
	case role == RoleClaimed:
		m = repo.Claimed
	case role == RoleRevocations && repo.Revocations != nil:
		m = repo.Revocations
	case isBinName(role):
		bin, err := repo.Bin(role)
		if bin == nil || err != nil {
			return nil, nil, err
		}
		m = bin
	default:
		return nil, nil, nil
	}
	if prev, err = m.MarshalJSON(); err != nil {
		return nil, nil, err
	}
	for _, d := range delegatorsOf(role) {
		var b []byte
		switch d {
		case RoleTargets:
			b, err = repo.Targets.MarshalJSON()
		case RoleClaimed:
			b, err = repo.Claimed.MarshalJSON()
		}
		if err != nil {
			return nil, nil, err
		}
		delegators = append(delegators, b)
	}
	return prev, delegators, nil
}
