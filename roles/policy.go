package roles

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Severity says whether a failed check stops a ceremony.
type Severity string

// Severities of policy checks.
const (
	Error   Severity = "error"   // the ceremony refuses to sign
	Warning Severity = "warning" // shown in review; signing may go on
)

// Finding is the outcome of one named policy check on one role. Check is
// a stable id ("root.threshold-above-one") that logs, transcripts and
// tests refer to; Message says in plain words what was found and, when it
// failed, what to do.
type Finding struct {
	Check    string   `json:"check"`
	Role     string   `json:"role"`
	Severity Severity `json:"severity"`
	Passed   bool     `json:"passed"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	status := "pass"
	if !f.Passed {
		status = string(f.Severity)
	}
	return fmt.Sprintf("[%s] %s (%s): %s", status, f.Check, f.Role, f.Message)
}

// Findings is a list of check outcomes.
type Findings []Finding

// Err returns an error naming every failed check of severity Error, or
// nil when none failed.
func (fs Findings) Err() error {
	var msgs []string
	for _, f := range fs {
		if !f.Passed && f.Severity == Error {
			msgs = append(msgs, fmt.Sprintf("%s (%s): %s", f.Check, f.Role, f.Message))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrPolicy, strings.Join(msgs, "; "))
}

// Failed returns the checks that did not pass.
func (fs Findings) Failed() Findings {
	var out Findings
	for _, f := range fs {
		if !f.Passed {
			out = append(out, f)
		}
	}
	return out
}

// ErrPolicy is wrapped by Findings.Err.
var ErrPolicy = errors.New("policy check failed")

// Policy is what checks are measured against. Its times come from a
// ceremony plan, never from the wall clock, so that a replay years later
// reaches the same verdicts.
type Policy struct {
	// Now is the plan's reference time.
	Now time.Time
	// MaxExpiry is the longest a role may be valid from Now, by role name;
	// DefaultMaxExpiry applies to roles not named. PEP 458 asks root and
	// targets to expire within a year.
	MaxExpiry        map[string]time.Duration
	DefaultMaxExpiry time.Duration
	// Revoked, when set, is the revocation list no signed role may
	// contradict by trusting a key it revokes.
	Revoked *Revocations
	// MaxFileSize is the size beyond which stock clients refuse a targets
	// file by default (python-tuf: 5,000,000 bytes); 0 means that value.
	MaxFileSize int
	// Scope is where the checks run, which sets their severities
	// (SeverityOf); the zero value is ScopeCeremony.
	Scope Scope
}

// Check ids, stable across releases.
const (
	CheckRootThresholdAboveOne  = "root.threshold-above-one"
	CheckThresholdWithinKeys    = "role.threshold-within-keys"
	CheckKeysValid              = "keys.valid"
	CheckExpiryInFuture         = "expiry.in-future"
	CheckExpiryWithinLimit      = "expiry.within-limit"
	CheckNoRevokedKeyTrusted    = "revocation.no-revoked-key-trusted"
	CheckOfflineNotSharedOnline = "keys.offline-not-shared-with-online"
	CheckVersionIncreases       = "version.strictly-increasing"
	CheckRevocationsAppendOnly  = "revocations.append-only"
	CheckFileSizeClientLimit    = "size.client-limit"
	// CheckSignaturesEveryClient fails for a signature that counts only
	// under VerifyOptions (one some clients refuse).
	CheckSignaturesEveryClient = "signature.every-client"
	// CheckRootJSONNewest fails when a repository's root.json, the root
	// clients without a pinned one start from, is not its newest root.
	CheckRootJSONNewest = "root.json.newest"
	// CheckSnapshotReached fails for a file snapshot lists that no
	// delegation from targets reaches.
	CheckSnapshotReached = "snapshot.meta.reached"
	// CheckKeyIDIsHash is the severity of a key listed under a keyid that
	// is not the SHA-256 of its canonical form, as securesystemslib's
	// legacy keyids are (TAP 12): clients never recompute keyids and
	// thresholds count keys by identity, so a repository that has one
	// verifies with a warning; nothing this tool signs may have one.
	// Verification names it by where the keys stand (root.keys,
	// delegation.claimed.keys); a staged role's keys.valid refuses it.
	CheckKeyIDIsHash = "keys.keyid-is-hash"
	// CheckKeysEveryClient fails for a key whose signatures a stock
	// client refuses although the TUF specification allows it: tuf-js
	// (3.1.0) checks every ECDSA signature over SHA-256, so it refuses
	// ecdsa-sha2-nistp384 signatures that python-tuf and go-tuf accept.
	// It is reported only for roles that have such a key, so that the
	// reviews of all others stay as they were.
	CheckKeysEveryClient = "keys.every-client"
)

// Scope is where a check runs. A failed check can be graver in a ceremony,
// which signs and publishes only what every client accepts, than in the
// verification of a repository another tool may have made.
type Scope uint8

const (
	// ScopeCeremony is a ceremony's start, review and publish, and the
	// full repository verification publish ends with.
	ScopeCeremony Scope = iota
	// ScopeVerify is `ceremony verify` of a repository.
	ScopeVerify
)

// severities is the one table of how grave each check's failure is, by
// scope: start, publish and verify all take their severities from it, so
// that a check tightened in one place and relaxed for foreign repositories
// in another cannot disagree. A check is relaxed in ScopeVerify where what
// fails it is valid TUF that this project's policy refuses, or what one
// reference client accepts and another refuses.
var severities = map[string][2]Severity{
	CheckRootThresholdAboveOne:  {Error, Warning},
	CheckThresholdWithinKeys:    {Error, Error},
	CheckKeysValid:              {Error, Error},
	CheckExpiryInFuture:         {Error, Error},
	CheckExpiryWithinLimit:      {Error, Warning},
	CheckNoRevokedKeyTrusted:    {Error, Error},
	CheckOfflineNotSharedOnline: {Error, Warning},
	CheckVersionIncreases:       {Error, Error},
	CheckRevocationsAppendOnly:  {Error, Error},
	CheckFileSizeClientLimit:    {Warning, Warning},
	CheckSignaturesEveryClient:  {Error, Warning},
	CheckRootJSONNewest:         {Warning, Warning},
	CheckSnapshotReached:        {Warning, Warning},
	CheckKeyIDIsHash:            {Error, Warning},
	CheckKeysEveryClient:        {Warning, Warning},
}

// SeverityOf returns how grave a failure of the named check is in scope.
// A check the table does not name is an Error: a new check is strict until
// the table says otherwise.
func SeverityOf(check string, scope Scope) Severity {
	if sev, ok := severities[check]; ok && int(scope) < len(sev) {
		return sev[scope]
	}
	return Error
}

// DefaultClientMaxFileSize is python-tuf's default limit for a targets
// file (UpdaterConfig.targets_max_length).
const DefaultClientMaxFileSize = 5_000_000

// clientDefault is a stock client's default limit on the size of one kind
// of metadata file, and the setting that raises it.
type clientDefault struct {
	client, setting string
	max             int
}

// clientDefaults are the limits stock clients apply by default, by kind of
// file (TypeRoot, TypeTimestamp, TypeSnapshot, TypeTargets for every
// targets-type file), as their sources set them: python-tuf 4's
// ngclient/config.py UpdaterConfig, go-tuf v2.4's metadata/config
// UpdaterConfig, tuf-js's config.js defaultConfig. They agree today; each
// is named so that a review says which client refuses what.
var clientDefaults = map[string][]clientDefault{
	TypeRoot: {
		{"python-tuf", "root_max_length", 512_000}, {"go-tuf v2", "RootMaxLength", 512_000}, {"tuf-js", "rootMaxLength", 512_000}},
	TypeTimestamp: {
		{"python-tuf", "timestamp_max_length", 16_384}, {"go-tuf v2", "TimestampMaxLength", 16_384}, {"tuf-js", "timestampMaxLength", 16_384}},
	TypeSnapshot: {
		{"python-tuf", "snapshot_max_length", 2_000_000}, {"go-tuf v2", "SnapshotMaxLength", 2_000_000}, {"tuf-js", "snapshotMaxLength", 2_000_000}},
	TypeTargets: {
		{"python-tuf", "targets_max_length", DefaultClientMaxFileSize}, {"go-tuf v2", "TargetsMaxLength", DefaultClientMaxFileSize}, {"tuf-js", "targetsMaxLength", DefaultClientMaxFileSize}},
}

// sizeRemedies say what to do about a file over a client's limit, by kind.
var sizeRemedies = map[string]string{
	TypeRoot:      "fewer or smaller keys keep root small; otherwise configure the clients' limit",
	TypeTimestamp: "timestamp lists one file; configure the clients' limit",
	TypeSnapshot:  "snapshot lists every targets-type file, so no layout of the offline roles keeps it under the limit at this many roles: configure the clients' snapshot limit, and say so to those who run them",
	TypeTargets:   "split it into bins (a plan's claimed: {bins: prefix}) so that every file stays below the limit, or configure the clients' limit",
}

// CheckFileSize is policy check size.client-limit on a metadata file of
// kind (TypeRoot, TypeTimestamp, TypeSnapshot, or TypeTargets for any
// targets-type role) published as size bytes: it names every stock
// client whose default limit the file exceeds, with the setting that
// raises it. CheckTargets runs it for its role.
func CheckFileSize(role, kind string, size int, p Policy) Findings {
	c := &checker{role: role, scope: p.Scope}
	c.fileSize(kind, size, p)
	return c.out
}

func (c *checker) fileSize(kind string, size int, p Policy) {
	limits := clientDefaults[kind]
	if kind == TypeTargets && p.MaxFileSize > 0 {
		limits = []clientDefault{{"this repository's clients", "their configured limit", p.MaxFileSize}}
	}
	var over []string
	least := 0
	for _, l := range limits {
		if size > l.max {
			over = append(over, fmt.Sprintf("%s (%s %d)", l.client, l.setting, l.max))
		}
		if least == 0 || l.max < least {
			least = l.max
		}
	}
	if len(over) == 0 {
		c.add(CheckFileSizeClientLimit, true, "%s is %d bytes, within every stock client's default limit (%d)", c.role, size, least)
		return
	}
	c.add(CheckFileSizeClientLimit, false, "%s is %d bytes, over the default limit of %s: those clients refuse it unless configured otherwise. %s",
		c.role, size, strings.Join(over, ", "), ifElse(sizeRemedies[kind] != "", sizeRemedies[kind], "configure the clients' limit"))
}

type checker struct {
	role  string
	scope Scope
	out   Findings
}

func (c *checker) add(check string, passed bool, format string, args ...any) {
	c.out = append(c.out, Finding{Check: check, Role: c.role, Severity: SeverityOf(check, c.scope), Passed: passed, Message: fmt.Sprintf(format, args...)})
}

// CheckRoot runs the policy checks on a staged root. prev is the root it
// replaces, or nil for version 1.
func CheckRoot(prev, next *Root, p Policy) Findings {
	c := &checker{role: TypeRoot, scope: p.Scope}
	rk := next.Roles[TypeRoot]
	c.add(CheckRootThresholdAboveOne, rk != nil && rk.Threshold > 1, "root threshold is %d%s", thresholdOf(rk),
		ifElse(rk != nil && rk.Threshold > 1, ": no single key decides root", "; one stolen or lost key must not decide root: set it to 2 or more"))
	for _, role := range slices.Sorted(maps.Keys(next.Roles)) {
		c.thresholdWithinKeys(role, identities(next.Keys), next.Roles[role].KeyIDs, next.Roles[role].Threshold)
	}
	c.keysValid(next.Keys)
	c.expiry(&next.Header, p)
	c.notRevoked(next.Keys, p.Revoked)
	// Keys of the offline roles (root, targets) must not sign for the
	// online ones, whose keys sit on a server; compared as keys, since one
	// key may stand under two keyids.
	ids := identities(next.Keys)
	online := map[string]bool{}
	for _, r := range []string{TypeSnapshot, TypeTimestamp} {
		if rk := next.Roles[r]; rk != nil {
			for _, id := range rk.KeyIDs {
				online[ids[id]] = true
			}
		}
	}
	var shared []string
	for _, r := range []string{TypeRoot, TypeTargets} {
		if rk := next.Roles[r]; rk != nil {
			for _, id := range rk.KeyIDs {
				if online[ids[id]] {
					shared = append(shared, r+" key "+ShortID(id))
				}
			}
		}
	}
	c.add(CheckOfflineNotSharedOnline, len(shared) == 0, "%s",
		ifElse(len(shared) == 0, "no root or targets key signs for snapshot or timestamp",
			"an offline key also signs for an online role ("+strings.Join(shared, ", ")+"): give the online roles keys of their own"))
	if prev != nil {
		c.add(CheckVersionIncreases, next.Version == prev.Version+1,
			"root v%d follows v%d; clients accept only version %d next", next.Version, prev.Version, prev.Version+1)
	}
	return c.out
}

// CheckTargets runs the policy checks on a staged targets role (targets,
// claimed, a project, a bin) named role. prev is the version it replaces,
// or nil; size is the length of the file as it will be published.
func CheckTargets(role string, prev, next *Targets, size int, p Policy) Findings {
	c := &checker{role: role, scope: p.Scope}
	if dl := next.Delegations; dl != nil {
		c.keysValid(dl.Keys)
		c.notRevoked(dl.Keys, p.Revoked)
		ids := identities(dl.Keys)
		if s := dl.SuccinctRoles; s != nil {
			c.thresholdWithinKeys(s.NamePrefix+"-*", ids, s.KeyIDs, s.Threshold)
		}
		// At PyPI's scale a claimed role has a hundred thousand
		// delegations: report the roles that fail, not one line each.
		var bad []string
		for _, r := range dl.Roles {
			if n := distinctKeys(ids, r.KeyIDs); r.Threshold > int64(n) {
				bad = append(bad, fmt.Sprintf("%s (threshold %d of %d distinct keys)", r.Name, r.Threshold, n))
			}
		}
		c.add(CheckThresholdWithinKeys, len(bad) == 0, "%s", ifElse(len(bad) == 0,
			fmt.Sprintf("all %d delegated roles can reach their thresholds", len(dl.Roles)),
			"these roles can never be signed: "+FirstFew(bad, ", ")+"; lower the threshold or add keys"))
	}
	c.expiry(&next.Header, p)
	if prev != nil {
		c.add(CheckVersionIncreases, next.Version > prev.Version,
			"%s v%d follows v%d; a client refuses a version that does not increase", role, next.Version, prev.Version)
	}
	c.fileSize(TypeTargets, size, p)
	return c.out
}

// CheckRevocations runs the policy checks on a staged revocation list:
// prev is the list it replaces, or nil for version 1.
func CheckRevocations(prev, next *Revocations, p Policy) Findings {
	c := &checker{role: TypeRevocations, scope: p.Scope}
	c.expiry(&next.Header, p)
	if prev == nil {
		return c.out
	}
	c.add(CheckVersionIncreases, next.Version > prev.Version,
		"revocations v%d follows v%d; the list's version must increase", next.Version, prev.Version)
	var dropped []string
	for _, old := range prev.Revoked {
		i := slices.IndexFunc(next.Revoked, func(r *Revocation) bool { return r.KeyID == old.KeyID })
		if i < 0 || !sameRevocation(old, next.Revoked[i]) {
			dropped = append(dropped, ShortID(old.KeyID))
		}
	}
	c.add(CheckRevocationsAppendOnly, len(dropped) == 0, "%s", ifElse(len(dropped) == 0,
		fmt.Sprintf("all %d earlier entries kept unchanged", len(prev.Revoked)),
		"entries dropped or changed: "+FirstFew(dropped, ", ")+"; a revocation can never be undone: keep every entry as it was"))
	return c.out
}

func sameRevocation(a, b *Revocation) bool {
	return a.KeyID == b.KeyID && string(a.Key.CanonicalJSON()) == string(b.Key.CanonicalJSON()) &&
		a.Role == b.Role && a.Reason == b.Reason && a.RevokedAt.Equal(b.RevokedAt)
}

func (c *checker) thresholdWithinKeys(role string, idents map[string]string, keyids []string, threshold int64) {
	n := int64(distinctKeys(idents, keyids))
	c.add(CheckThresholdWithinKeys, threshold <= n,
		"%s: threshold %d of %d distinct keys%s", role, threshold, n,
		ifElse(threshold <= n, "", ": it can never be reached; lower the threshold or add keys"))
}

// identities maps each keyid to its key's identity (the public key
// itself), so that checks count keys, not keyids: one key may stand under
// two keyids. A key that does not parse has none (keys.valid reports it).
func identities(keys map[string]*Key) map[string]string {
	out := make(map[string]string, len(keys))
	for id, k := range keys {
		if ident, err := k.identity(); err == nil {
			out[id] = ident
		}
	}
	return out
}

// distinctKeys counts the distinct keys among keyids.
func distinctKeys(idents map[string]string, keyids []string) int {
	seen := make(map[string]bool, len(keyids))
	for _, id := range keyids {
		if ident, ok := idents[id]; ok {
			seen[ident] = true
		}
	}
	return len(seen)
}

func (c *checker) keysValid(keys map[string]*Key) {
	var bad []string
	for id, k := range keys {
		if _, err := k.PublicKey(); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", ShortID(id), err))
		} else if k.ID() != id {
			bad = append(bad, fmt.Sprintf("%s is listed under a keyid that is not its own (%s)", ShortID(id), ShortID(k.ID())))
		}
	}
	slices.Sort(bad)
	c.add(CheckKeysValid, len(bad) == 0, "%s", ifElse(len(bad) == 0,
		fmt.Sprintf("all %d keys parse and match their keyids", len(keys)), "bad keys: "+FirstFew(bad, ", ")))
	var p384 []string
	for id, k := range keys {
		if k.Scheme == SchemeECDSAP384 {
			p384 = append(p384, ShortID(id))
		}
	}
	if len(p384) > 0 {
		slices.Sort(p384)
		c.add(CheckKeysEveryClient, false, "%s %s ecdsa-sha2-nistp384: tuf-js 3.1.0 checks ECDSA signatures over SHA-256 and refuses theirs (python-tuf and go-tuf accept them); use ed25519 or ECDSA P-256 keys for a repository npm-based clients read",
			FirstFew(p384, ", "), ifElse(len(p384) == 1, "is", "are"))
	}
}

func (c *checker) expiry(h *Header, p Policy) {
	c.add(CheckExpiryInFuture, h.Expires.After(p.Now),
		"expires %s, reference time %s%s", h.Expires.Format(TimeFormat), p.Now.UTC().Format(TimeFormat),
		ifElse(h.Expires.After(p.Now), "", ": set an expiry after the reference time"))
	limit := p.DefaultMaxExpiry
	if d, ok := p.MaxExpiry[c.role]; ok {
		limit = d
	}
	if limit > 0 {
		ok := !h.Expires.After(p.Now.Add(limit))
		c.add(CheckExpiryWithinLimit, ok, "expires %s, at most %s after the reference time allowed%s",
			h.Expires.Format(TimeFormat), limit, ifElse(ok, "", ": shorten the expiry"))
	}
}

func (c *checker) notRevoked(keys map[string]*Key, rev *Revocations) {
	if rev == nil {
		return
	}
	var hits []string
	for id, k := range keys {
		if r := rev.IsRevoked(id, k); r != nil {
			hits = append(hits, fmt.Sprintf("%s (revoked %s: %s)", ShortID(id), r.RevokedAt.Format(TimeFormat), r.Reason))
		}
	}
	slices.Sort(hits)
	c.add(CheckNoRevokedKeyTrusted, len(hits) == 0, "%s", ifElse(len(hits) == 0,
		fmt.Sprintf("none of %d keys is revoked", len(keys)),
		"trusts revoked keys: "+FirstFew(hits, ", ")+"; remove them before signing"))
}

func thresholdOf(rk *RoleKeys) int64 {
	if rk == nil {
		return 0
	}
	return rk.Threshold
}

func ifElse(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// FirstFew joins up to five items with sep and says how many more there
// are, so that a message about 100,000 projects stays a line.
func FirstFew(items []string, sep string) string {
	if len(items) <= 5 {
		return strings.Join(items, sep)
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:5], sep), len(items)-5)
}
