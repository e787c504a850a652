package roles

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// Delegation is what a delegating role says of another: the keys it may be
// signed with and how many of them must sign. Root says it of the
// top-level roles; targets of claimed; claimed of each project.
type Delegation struct {
	Role      string
	Keys      map[string]*Key
	KeyIDs    []string
	Threshold int64
}

// ErrThreshold is wrapped by every error that reports too few valid
// signatures.
var ErrThreshold = errors.New("signature threshold not reached")

// VerifyReport says which signatures counted towards a threshold.
type VerifyReport struct {
	Role      string
	Threshold int64
	// Signed lists the keyids whose signatures verified, in the order the
	// signatures stand; a key seen under two keyids is listed once.
	Signed []string
	// Invalid maps keyids whose signatures did not verify to why.
	Invalid map[string]error
	// Missing lists the delegation's keyids with no valid signature.
	Missing []string
	// Relaxed lists the keyids in Signed that count only because of
	// VerifyOptions: their signatures are ones some clients refuse.
	Relaxed []string
}

// VerifyOptions relax Verify for a repository this tool did not sign. A
// ceremony never uses them: what it counts, every client counts.
type VerifyOptions struct {
	// AnyPSSSalt counts an RSA-PSS signature whatever its salt length, as
	// python-tuf does; go-tuf refuses a salt not as long as the digest
	// (ErrPSSSalt). Such signatures are listed in VerifyReport.Relaxed.
	AnyPSSSalt bool
}

// VerifyOptionsFor returns the options verification takes in scope:
// relaxed only where the severity table makes CheckSignaturesEveryClient
// a warning, so that what a threshold counts follows the same table as
// every other check. A signature counted only so is reported under that
// check, with its severity.
func VerifyOptionsFor(scope Scope) VerifyOptions {
	return VerifyOptions{AnyPSSSalt: SeverityOf(CheckSignaturesEveryClient, scope) == Warning}
}

// Count is the number of distinct keys that signed.
func (r *VerifyReport) Count() int { return len(r.Signed) }

// Verify checks m's signatures against del. It counts distinct keys: a key
// under two keyids, or two signatures by one keyid, count once. The signed
// bytes are written once and fanned out to every signature check, so a
// large role is canonicalised a single time and never held twice.
func Verify[R Role](m *Metadata[R], del Delegation) (*VerifyReport, error) {
	return verify(m.WriteSigned, m.Signatures, del, VerifyOptions{})
}

// VerifyWith is Verify with relaxed rules, for a repository this tool did
// not sign: a signature counted only under them is listed in the report's
// Relaxed, for the caller to warn about (the threshold holds for every
// client only if Count() - len(Relaxed) reaches it).
func VerifyWith[R Role](m *Metadata[R], del Delegation, opts VerifyOptions) (*VerifyReport, error) {
	return verify(m.WriteSigned, m.Signatures, del, opts)
}

// VerifyCanonical is Verify for signatures over signed bytes already in
// canonical form (a staged role whose bytes a ceremony holds).
func VerifyCanonical(canonical []byte, sigs []Signature, del Delegation) (*VerifyReport, error) {
	return verify(func(w io.Writer) error { _, err := w.Write(canonical); return err }, sigs, del, VerifyOptions{})
}

func verify(writeSigned func(io.Writer) error, sigs []Signature, del Delegation, opts VerifyOptions) (*VerifyReport, error) {
	rep := &VerifyReport{Role: del.Role, Threshold: del.Threshold, Invalid: map[string]error{}}
	if del.Threshold < 1 {
		return rep, fmt.Errorf("role %s: threshold %d is below 1", del.Role, del.Threshold)
	}
	trusted := make(map[string]bool, len(del.KeyIDs))
	for _, id := range del.KeyIDs {
		trusted[id] = true
	}
	var checks []*sigCheck
	var writers []io.Writer
	seen := map[string]bool{}
	for _, s := range sigs {
		if !trusted[s.KeyID] || seen[s.KeyID] {
			continue
		}
		seen[s.KeyID] = true
		key := del.Keys[s.KeyID]
		if key == nil {
			rep.Invalid[s.KeyID] = fmt.Errorf("keyid %s is delegated but not among the keys", ShortID(s.KeyID))
			continue
		}
		v, err := newSigCheck(key, s.Sig)
		if err != nil {
			rep.Invalid[s.KeyID] = err
			continue
		}
		v.keyid = s.KeyID
		checks = append(checks, v)
		writers = append(writers, v)
	}
	if len(checks) > 0 {
		// Each signature check hashes on a goroutine of its own while the
		// writer goes on producing the signed bytes: at PyPI's scale that
		// is three passes over 57 MB, which need not wait for each other.
		ph := newParallelHash(writers)
		err := writeSigned(ph)
		ph.wait()
		if err != nil {
			return rep, fmt.Errorf("role %s: write signed bytes: %w", del.Role, err)
		}
	}
	var relaxed []*sigCheck
	identities := map[string]bool{}
	count := func(v *sigCheck) bool {
		ident, err := v.key.identity()
		if err != nil {
			rep.Invalid[v.keyid] = err
			return false
		}
		if identities[ident] {
			return false // the same key again under another keyid
		}
		identities[ident] = true
		rep.Signed = append(rep.Signed, v.keyid)
		return true
	}
	for _, v := range checks {
		switch err := v.check(); {
		case err == nil:
			count(v)
		case errors.Is(err, ErrPSSSalt) && opts.AnyPSSSalt:
			relaxed = append(relaxed, v)
		default:
			rep.Invalid[v.keyid] = err
		}
	}
	// After every signature all clients accept, so that a key which
	// signed both ways counts as such.
	for _, v := range relaxed {
		if count(v) {
			rep.Relaxed = append(rep.Relaxed, v.keyid)
		}
	}
	for _, id := range del.KeyIDs {
		if !slices.Contains(rep.Signed, id) {
			rep.Missing = append(rep.Missing, id)
		}
	}
	if int64(len(rep.Signed)) < del.Threshold {
		return rep, fmt.Errorf("role %s: %w: %d of %d keys signed validly, %d needed", del.Role, ErrThreshold, len(rep.Signed), len(del.KeyIDs), del.Threshold)
	}
	return rep, nil
}

// parallelHash hands every chunk written to it to one goroutine per
// hash. Chunks are copied into pooled buffers, since a writer may reuse
// its own, and the queues are bounded, so memory stays a few chunks: a
// large write (an 18 MB snapshot's signed bytes, as read) is cut into
// chunks of at most hashChunkSize.
type parallelHash struct {
	queues []chan *hashChunk
	wg     sync.WaitGroup
	pool   sync.Pool
}

type hashChunk struct {
	b    []byte
	left atomic.Int32 // hashes yet to read it
}

func newParallelHash(ws []io.Writer) *parallelHash {
	ph := &parallelHash{}
	ph.pool.New = func() any { return &hashChunk{} }
	for _, w := range ws {
		q := make(chan *hashChunk, 8)
		ph.queues = append(ph.queues, q)
		ph.wg.Add(1)
		go func() {
			defer ph.wg.Done()
			for c := range q {
				w.Write(c.b) // hashes never fail
				if c.left.Add(-1) == 0 {
					ph.pool.Put(c)
				}
			}
		}()
	}
	return ph
}

// hashChunkSize bounds a chunk parallelHash copies.
const hashChunkSize = 64 << 10

func (ph *parallelHash) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		n := min(len(rest), hashChunkSize)
		c := ph.pool.Get().(*hashChunk)
		c.b = append(c.b[:0], rest[:n]...)
		rest = rest[n:]
		c.left.Store(int32(len(ph.queues)))
		for _, q := range ph.queues {
			q <- c
		}
	}
	return len(p), nil
}

// wait ends the goroutines once they have hashed everything written.
func (ph *parallelHash) wait() {
	for _, q := range ph.queues {
		close(q)
	}
	ph.wg.Wait()
}
