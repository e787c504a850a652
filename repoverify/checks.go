package repoverify

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/ceremony-tuf/ceremony/roles"
)

// parseRole parses a file, recording a failure of PREFIX.parse named by
// the class of what is wrong.
func parseRole[R roles.Role](w *walker, prefix, role, file string, b []byte) *roles.Metadata[R] {
	return parseWith(w, prefix, role, file, func() (*roles.Metadata[R], error) { return roles.Parse[R](b) })
}

// parseWith is parseRole, parsing with parse.
func parseWith[R roles.Role](w *walker, prefix, role, file string, parse func() (*roles.Metadata[R], error)) *roles.Metadata[R] {
	m, err := parse()
	if err != nil {
		w.fail(prefix+".parse", role, file, syntaxReason(err), err, "%v", err)
		return nil
	}
	w.pass(prefix+".parse", role, file, "parses strictly")
	return m
}

// refusals name the reason for each class of refusal roles.Parse names.
var refusals = []struct {
	kind   error
	reason string
}{
	{roles.ErrDuplicateName, ReasonDuplicateName},
	{roles.ErrVersionBelowOne, ReasonVersionBelowOne},
	{roles.ErrSpecVersion, ReasonSpecVersion},
	{roles.ErrRoleDelegatedTwice, ReasonRoleNameReused},
	{roles.ErrTopLevelDelegated, ReasonTopLevelDelegated},
	{roles.ErrKeyIDMismatch, ReasonKeyIDMismatch},
	{roles.ErrTimeNotUTC, ReasonTimeNotUTC},
}

// syntaxReason classifies a parse error by the refusal it names.
func syntaxReason(err error) string {
	for _, r := range refusals {
		if errors.Is(err, r.kind) {
			return r.reason
		}
	}
	return ReasonMalformed
}

// checkKeyIDs records whether every key in keys is listed under its own
// keyid, with roles.CheckKeyIDIsHash's severity: a warning when verifying
// a repository (thresholds count keys, not keyids), an error in a
// ceremony.
func (w *walker) checkKeyIDs(check, role, file string, keys map[string]*roles.Key) {
	var bad []string
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if got := keys[id].ID(); got != id {
			bad = append(bad, fmt.Sprintf("key listed as %s has keyid %s", roles.ShortID(id), roles.ShortID(got)))
		}
	}
	c := Check{Name: check, Role: role, File: file, Passed: len(bad) == 0,
		Message: fmt.Sprintf("all %d keys are listed under their own keyids", len(keys))}
	if !c.Passed {
		c.Reason = ReasonKeyIDMismatch
		c.Message = roles.FirstFew(bad, "; ") + " (a legacy keyid, TAP 12: clients count the key by what it is)"
	}
	w.recordAs(roles.CheckKeyIDIsHash, c, nil)
}

// checkSigned verifies m under del, counting the signatures the walk's
// scope counts, and records the outcome as check, after
// roles.CheckSignaturesEveryClient. Non-DER ECDSA signatures by a
// delegated key fail the check even when the threshold is reached.
func checkSigned[R roles.Role](w *walker, check, role, file string, m *roles.Metadata[R], del roles.Delegation) *roles.VerifyReport {
	if w.opts.Unsigned[file] {
		return &roles.VerifyReport{}
	}
	rep, err := roles.VerifyWith(m, del, w.vopts)
	w.checkEveryClient(role, file, rep)
	var nonDER []string
	for _, s := range m.Signatures {
		if k := del.Keys[s.KeyID]; k != nil && slices.Contains(del.KeyIDs, s.KeyID) && notDER(k, s.Sig) {
			nonDER = append(nonDER, roles.ShortID(s.KeyID))
		}
	}
	switch {
	case len(nonDER) > 0:
		w.fail(check, role, file, ReasonECDSANotDER, err, "ECDSA signatures by %s are not DER-encoded (raw r||s?); TUF signatures are DER", strings.Join(nonDER, ", "))
	case err != nil:
		var why []string
		if rep != nil {
			for _, id := range slices.Sorted(maps.Keys(rep.Invalid)) {
				why = append(why, fmt.Sprintf("%s: %v", roles.ShortID(id), rep.Invalid[id]))
			}
		}
		msg := err.Error()
		if len(why) > 0 {
			msg += " (invalid: " + roles.FirstFew(why, "; ") + ")"
		}
		w.fail(check, role, file, ReasonThreshold, err, "%s", msg)
	default:
		w.pass(check, role, file, "%d of %d distinct keys signed, threshold %d", rep.Count(), len(del.KeyIDs), del.Threshold)
	}
	return rep
}

// checkEveryClient records whether every signature the reports count, or
// refuse only for its RSA-PSS salt, is one every reference client
// accepts: python-tuf takes any salt length, go-tuf only the digest's.
// What the walk's scope makes of such a signature (a warning that it
// counts, or an error that it does not) is the severity table's
// roles.CheckSignaturesEveryClient; either way a threshold holds for
// every client only with the signatures they all accept.
func (w *walker) checkEveryClient(role, file string, reps ...*roles.VerifyReport) {
	var odd, shortOf []string
	for _, rep := range reps {
		if rep == nil {
			continue
		}
		ids := slices.Clone(rep.Relaxed)
		for id, err := range rep.Invalid {
			if errors.Is(err, roles.ErrPSSSalt) {
				ids = append(ids, id)
			}
		}
		for _, id := range ids {
			if !slices.Contains(odd, roles.ShortID(id)) {
				odd = append(odd, roles.ShortID(id))
			}
		}
		if strict := rep.Count() - len(rep.Relaxed); int64(strict) < rep.Threshold && len(ids) > 0 {
			shortOf = append(shortOf, fmt.Sprintf("%d of threshold %d", strict, rep.Threshold))
		}
	}
	if len(odd) == 0 {
		w.pass(roles.CheckSignaturesEveryClient, role, file, "every signature is one all clients accept")
		return
	}
	slices.Sort(odd)
	holds := "the threshold holds without them"
	if len(shortOf) > 0 {
		holds = fmt.Sprintf("without them the threshold does not hold (%s), so go-tuf clients refuse %s", strings.Join(shortOf, "; "), role)
	}
	w.fail(roles.CheckSignaturesEveryClient, role, file, ReasonSomeClientsRefuse, nil,
		"the RSA-PSS signatures by %s have a salt not as long as the digest, which python-tuf accepts and go-tuf refuses; %s", roles.FirstFew(odd, "; "), holds)
}

// notDER reports whether sig, by an ECDSA key, is not a DER-encoded
// signature.
func notDER(k *roles.Key, sig []byte) bool {
	pub, err := k.PublicKey()
	if err != nil {
		return false
	}
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		return false
	}
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	return err != nil || len(rest) != 0
}

// checkExpiry records whether a role has expired as of the walk's time;
// a walk without one judges no expiry.
func (w *walker) checkExpiry(check, role, file string, h *roles.Header) {
	if w.at.IsZero() {
		return
	}
	exp := h.Expires.Format(roles.TimeFormat)
	if h.IsExpired(w.at) {
		w.fail(check, role, file, ReasonExpired, roles.ErrExpired, "%s v%d expired %s, before %s", role, h.Version, exp, w.at.Format(roles.TimeFormat))
		return
	}
	w.pass(check, role, file, "expires %s, after %s", exp, w.at.Format(roles.TimeFormat))
}

func (w *walker) checkVersion(check, role, file string, got, want int64, lister string) {
	if got != want {
		w.fail(check, role, file, ReasonVersionMismatch, nil, "%s is version %d, %s lists version %d", file, got, lister, want)
		return
	}
	w.pass(check, role, file, "version %d, as %s lists", got, lister)
}

// checkMeta records whether b agrees with l's length and hashes, as
// checks PREFIX.length and PREFIX.hash.
func (w *walker) checkMeta(l listing, role, file string, b []byte) {
	prefix, mf := l.prefix, l.mf
	if mf.Length != 0 {
		if int64(len(b)) != mf.Length {
			w.fail(prefix+".length", role, file, ReasonLengthMismatch, nil, "%s is %d bytes, listed as %d", file, len(b), mf.Length)
		} else {
			w.pass(prefix+".length", role, file, "%d bytes, as listed", len(b))
		}
	}
	for _, alg := range slices.Sorted(maps.Keys(mf.Hashes)) {
		want := mf.Hashes[alg]
		var sum []byte
		switch alg {
		case "sha224":
			s := sha256.Sum224(b)
			sum = s[:]
		case "sha256":
			s := sha256.Sum256(b)
			sum = s[:]
		case "sha384":
			s := sha512.Sum384(b)
			sum = s[:]
		case "sha512":
			s := sha512.Sum512(b)
			sum = s[:]
		default:
			w.fail(prefix+".hash", role, file, ReasonUnsupportedHash, nil, "hash algorithm %q cannot be checked", alg)
			continue
		}
		if got := hex.EncodeToString(sum); got != want {
			w.fail(prefix+".hash", role, file, ReasonHashMismatch, nil, "%s of %s is %s, listed as %s", alg, file, got, want)
			continue
		}
		w.pass(prefix+".hash", role, file, "%s matches", alg)
	}
}

func (w *walker) addRole(role, file, delegator string, h *roles.Header, rep *roles.VerifyReport, del roles.Delegation) {
	r := Role{Name: role, File: file, Version: h.Version, Expires: h.Expires, Delegator: delegator, Signed: []string{}, Threshold: del.Threshold, KeyIDs: len(del.KeyIDs)}
	if rep != nil && rep.Signed != nil {
		// Copies, so that the report does not hold the role's file.
		r.Signed = make([]string, len(rep.Signed))
		for i, id := range rep.Signed {
			r.Signed[i] = strings.Clone(id)
		}
	}
	w.listRole(r)
}
