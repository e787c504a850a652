package roles

// Fuzz targets. `go test` runs each one's seed corpus (testdata/fuzz/<Name>/
// and the f.Add calls); `make fuzz` (scripts/fuzz.sh) runs them with
// -fuzz. They hold roles to what a signature verifier most needs: that
// its canonical JSON is securesystemslib's, byte for byte, and that a
// document it accepts means one thing however it is read back.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// FuzzCanonicalDifferential compares Canonicalize with go-securesystemslib's
// cjson.EncodeCanonical, the canonical JSON go-tuf signs with, on
// arbitrary input.
//
// Deliberate differences, excluded here and asserted instead:
//   - roles refuses what encoding/json silently repairs or resolves:
//     duplicate member names (encoding/json keeps the last), invalid UTF-8
//     and lone surrogate escapes (it substitutes U+FFFD). Two readers of
//     one signed document must never see two documents.
//   - roles refuses numbers with a fraction or an exponent and integers
//     outside int64; cjson refuses them too (it errors on any number
//     json.Number.Int64 rejects).
//   - roles refuses nesting deeper than 64 levels (a stack bound).
//   - roles writes -0 as 0, as Python's securesystemslib does; Go's cjson
//     writes -0 as it stands. The comparison maps -0 to 0 first.
//
// Raw control characters in strings are invalid JSON, refused by both.
func FuzzCanonicalDifferential(f *testing.F) {
	for _, s := range []string{
		`{"b":1,"a":[true,false,null,"x\"y\\z"]}`,
		`{"a":1,"a":2}`,
		`[1.5]`,
		`-0`,
		`"\ud800"`,
		`"\u00e9\n\/"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Canonicalize(data)
		if !json.Valid(data) {
			if err == nil {
				t.Fatalf("roles accepted input that encoding/json refuses: %q → %q", data, out)
			}
			return
		}
		if err != nil {
			if why := refusalClass(data); why == "" {
				t.Fatalf("roles refused valid JSON that is in no refused class: %q: %v", data, err)
			}
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		want, err := cjson.EncodeCanonical(minusZeroToZero(v))
		if err != nil {
			t.Fatalf("roles canonicalised %q but cjson refuses it: %v", data, err)
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("canonical forms of %q differ:\nroles: %q\ncjson: %q", data, out, want)
		}
		// Canonical JSON is a fixed point, whenever it is valid JSON (it
		// is not when a string holds a control character, which canonical
		// JSON writes raw).
		if json.Valid(out) {
			again, err := Canonicalize(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("Canonicalize is not idempotent on %q: %q, %v", out, again, err)
			}
		}
	})
}

// minusZeroToZero maps every -0 in a value decoded with UseNumber to 0,
// the one number whose canonical form roles writes differently from
// Go's cjson (see FuzzCanonicalDifferential).
func minusZeroToZero(v any) any {
	switch x := v.(type) {
	case json.Number:
		if x == "-0" {
			return json.Number("0")
		}
	case []any:
		for i := range x {
			x[i] = minusZeroToZero(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = minusZeroToZero(x[k])
		}
	}
	return v
}

// refusalClass names why roles may refuse a document that encoding/json
// accepts, or returns "" when the document is in none of the deliberate
// classes. It reads the document with encoding/json's token stream, apart
// from the raw scans that encoding/json's repairs would hide.
func refusalClass(data []byte) string {
	if !utf8.Valid(data) {
		return "invalid UTF-8"
	}
	if hasLoneSurrogate(data) {
		return "lone surrogate"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object  bool
		wantKey bool
		names   map[string]bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return "" // the end (the input was checked valid)
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.wantKey
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true
				}
				stack = append(stack, &frame{object: x == '{', wantKey: true, names: map[string]bool{}})
				if len(stack) > maxDepth {
					return "nested too deep"
				}
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if isKey {
				if top.names[x] {
					return "duplicate member name"
				}
				top.names[x] = true
				top.wantKey = false
				continue
			}
		case json.Number:
			if strings.ContainsAny(string(x), ".eE") {
				return "not an integer"
			}
			if _, err := x.Int64(); err != nil {
				return "integer out of range"
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

// hasLoneSurrogate reports whether a JSON text has a \u escape of a UTF-16
// surrogate that is not half of a valid pair (encoding/json replaces such
// a surrogate with U+FFFD; roles refuses it).
func hasLoneSurrogate(data []byte) bool {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(data) && data[i+1] == 'u' && i+6 <= len(data) {
				r := hex4(data[i+2 : i+6])
				if utf16.IsSurrogate(r) {
					ok := r < 0xDC00 && i+12 <= len(data) && data[i+6] == '\\' && data[i+7] == 'u' &&
						utf16.DecodeRune(r, hex4(data[i+8:i+12])) != utf8.RuneError
					if !ok {
						return true
					}
					i += 6 // the pair's second half is consumed below
				}
				i += 5
			} else {
				i++ // the escaped character
			}
		}
	}
	return false
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// checkParsed is what every parser fuzz target asserts of a document
// Parse accepted:
//   - the document is valid JSON (roles is never laxer than encoding/json);
//   - CanonicalSigned is the canonical form of the "signed" value as it
//     stands in the bytes, so that the model drops and invents nothing the
//     signatures cover (TUF: unknown fields must survive);
//   - WriteSigned streams the same bytes;
//   - the published form (MarshalJSON) is valid JSON that parses again to
//     the same signed bytes, and publishing that again changes nothing.
func checkParsed[R Role](t *testing.T, data []byte, m *Metadata[R]) {
	t.Helper()
	if !json.Valid(data) {
		t.Fatalf("Parse accepted invalid JSON: %q", data)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	signed := m.CanonicalSigned()
	want, err := Canonicalize(top["signed"])
	if err != nil {
		t.Fatalf("Parse accepted a document whose signed value Canonicalize refuses: %v\n%q", err, data)
	}
	if !bytes.Equal(signed, want) {
		t.Fatalf("CanonicalSigned is not the canonical form of signed:\n got %q\nwant %q", signed, want)
	}
	var streamed bytes.Buffer
	if err := m.WriteSigned(&streamed); err != nil || !bytes.Equal(streamed.Bytes(), signed) {
		t.Fatalf("WriteSigned wrote %q (%v), CanonicalSigned %q", streamed.Bytes(), err, signed)
	}
	pub, err := m.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	if !json.Valid(pub) {
		t.Fatalf("published form is not valid JSON: %q", pub)
	}
	back, err := Parse[R](pub)
	if err != nil {
		t.Fatalf("published form does not parse: %v\n%q", err, pub)
	}
	if got := back.CanonicalSigned(); !bytes.Equal(got, signed) {
		t.Fatalf("signed bytes changed through publishing:\n got %q\nwant %q", got, signed)
	}
	if len(back.Signatures) != len(m.Signatures) {
		t.Fatalf("%d signatures became %d through publishing", len(m.Signatures), len(back.Signatures))
	}
	pub2, err := back.MarshalJSON()
	if err != nil || !bytes.Equal(pub2, pub) {
		t.Fatalf("publishing is not stable:\nfirst  %q\nsecond %q (%v)", pub, pub2, err)
	}
}

// checkKeys exercises every key of a parsed document: keyids, conversion
// to a public key and a verification must not panic on any input.
func checkKeys(keys map[string]*Key) {
	for _, k := range keys {
		k.ID()
		k.PublicKey()
		k.Verify([]byte("msg"), make([]byte, 64))
	}
}

func FuzzParseRoot(f *testing.F) {
	f.Add([]byte(`{"signatures":[],"signed":{"_type":"root","consistent_snapshot":true,"expires":"2030-01-02T03:04:05Z","keys":{},"roles":{"root":{"keyids":[],"threshold":1},"snapshot":{"keyids":[],"threshold":1},"targets":{"keyids":[],"threshold":1},"timestamp":{"keyids":[],"threshold":1}},"spec_version":"1.0.31","version":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse[*Root](data)
		if err != nil {
			return
		}
		checkParsed(t, data, m)
		checkReplaceSignatures(t, data, m)
		checkKeys(m.Signed.Keys)
		// Verifying under its own keys must not panic, whatever it finds.
		VerifySelfSigned(m)
		VerifyRootUpdate(m, m)
	})
}

func FuzzParseTargets(f *testing.F) {
	f.Add([]byte(`{"signatures":[],"signed":{"_type":"targets","expires":"2030-01-02T03:04:05Z","spec_version":"1.0.31","targets":{},"version":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse[*Targets](data)
		if err != nil {
			return
		}
		checkParsed(t, data, m)
		checkReplaceSignatures(t, data, m)
		if dl := m.Signed.Delegations; dl != nil {
			checkKeys(dl.Keys)
			for _, p := range []string{"a", "sampleproject/x.tar.gz", "a/b/c"} {
				for _, name := range dl.RolesFor(p) {
					// Every role a path resolves to is one delegated.
					del, err := dl.Delegation(name)
					if err != nil {
						t.Fatalf("RolesFor(%q) names %q, which Delegation does not know: %v", p, name, err)
					}
					Verify(m, del)
				}
			}
		}
	})
}

func FuzzParseSnapshot(f *testing.F) {
	f.Add([]byte(`{"signatures":[],"signed":{"_type":"snapshot","expires":"2030-01-02T03:04:05Z","meta":{"targets.json":{"version":1}},"spec_version":"1.0.31","version":1}}`))
	// Another tool's file: white space, members out of order.
	f.Add([]byte(`{"signed": {"version": 2, "meta": {"b.json": {"version": 3, "length": 9, "hashes": {"sha256": "00"}}, "a.json": {"version": 1}}, "_type": "snapshot", "expires": "2030-01-02T03:04:05Z", "spec_version": "1.0.31"}, "signatures": []}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// ParseSnapshotEach accepts what Parse accepts, hands over the
		// entries Parse keeps, and gives the same canonical bytes.
		handed := map[string]*MetaFile{}
		each, eachErr := ParseSnapshotEach(data, func(file string, mf *MetaFile) error {
			if handed[file] != nil {
				t.Errorf("%s handed twice", file)
			}
			handed[file] = mf
			return nil
		})
		m, err := Parse[*Snapshot](data)
		if (err == nil) != (eachErr == nil) {
			t.Fatalf("Parse: %v, ParseSnapshotEach: %v", err, eachErr)
		}
		if err != nil {
			return
		}
		checkParsed(t, data, m)
		if !reflect.DeepEqual(handed, m.Signed.Meta) {
			t.Errorf("entries handed over differ from Parse's: %v, want %v", handed, m.Signed.Meta)
		}
		if !bytes.Equal(each.CanonicalSignedView(), m.CanonicalSignedView()) {
			t.Errorf("canonical bytes differ:\n%s\n%s", each.CanonicalSignedView(), m.CanonicalSignedView())
		}
		// Written again, it is the file Parse gives, or refused when its
		// entries were handed over.
		if got, err := each.MarshalJSON(); err == nil {
			if want, _ := m.MarshalJSON(); !bytes.Equal(got, want) {
				t.Errorf("written again:\n%s\nwant\n%s", got, want)
			}
		} else if len(each.Signed.Meta) > 0 || len(handed) == 0 && len(m.Signed.Meta) > 0 {
			t.Errorf("refused to write a snapshot that keeps its entries: %v", err)
		}
		for _, mf := range m.Signed.Meta {
			mf.Check(data)
		}
		checkReplaceSignatures(t, data, m)
	})
}

// checkReplaceSignatures: signatures replaced in the bytes, where
// ReplaceSignatures takes them, are those Parse and MarshalJSON give.
func checkReplaceSignatures[R Role](t *testing.T, data []byte, m *Metadata[R]) {
	t.Helper()
	file, err := m.MarshalJSON()
	if err != nil {
		return
	}
	canon := m.CanonicalSignedView()
	for _, sigs := range [][]Signature{nil, {{KeyID: "ab", Sig: []byte{1, 2}}}, {{KeyID: "a\"b", Sig: []byte{3}}, {KeyID: "c", Sig: nil}}} {
		for _, in := range [][]byte{data, file} {
			got, ok := ReplaceSignatures(in, canon, sigs)
			if !ok {
				continue
			}
			again, err := Parse[R](in)
			if err != nil {
				t.Fatalf("ReplaceSignatures took bytes Parse refuses: %v", err)
			}
			again.Signatures = sigs
			want, err := again.MarshalJSON()
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("signatures replaced in the bytes:\n%s\nparsed and written:\n%s (%v)", got, want, err)
			}
		}
		if _, ok := ReplaceSignatures(file, canon, sigs); !ok && !bytes.ContainsFunc(canon, func(r rune) bool { return r < 0x20 }) && len(m.extra) == 0 {
			t.Errorf("ReplaceSignatures refused MarshalJSON's own bytes:\n%s", file)
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	f.Add([]byte(`{"signatures":[],"signed":{"_type":"timestamp","expires":"2030-01-02T03:04:05Z","meta":{"snapshot.json":{"version":1}},"spec_version":"1.0.31","version":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse[*Timestamp](data)
		if err != nil {
			return
		}
		checkParsed(t, data, m)
		checkReplaceSignatures(t, data, m)
		if m.Signed.Meta["snapshot.json"] == nil || len(m.Signed.Meta) != 1 {
			t.Fatalf("a timestamp that lists %d files parsed", len(m.Signed.Meta))
		}
	})
}

func FuzzParseRevocations(f *testing.F) {
	f.Add([]byte(`{"signatures":[],"signed":{"_type":"revocations","expires":"2030-01-02T03:04:05Z","revoked":[],"spec_version":"1.0.31","version":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse[*Revocations](data)
		if err != nil {
			return
		}
		checkParsed(t, data, m)
		for _, rv := range m.Signed.Revoked {
			// Parse checks each entry's keyid against its key; the list
			// must then find every entry by its keyid and by its key.
			if rv.Key.ID() != rv.KeyID {
				t.Fatalf("entry keyid %s is not its key's %s", rv.KeyID, rv.Key.ID())
			}
			if m.Signed.IsRevoked(rv.KeyID, nil) == nil || (m.Signed.IsRevoked("", rv.Key) == nil && isUsableKey(rv.Key)) {
				t.Fatalf("revocation list does not find its own entry %s", rv.KeyID)
			}
		}
	})
}

// isUsableKey reports whether a key's type, scheme and public value make
// a public key (only such keys can be recognised under another keyid).
func isUsableKey(k *Key) bool {
	_, err := k.PublicKey()
	return err == nil
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte(`{"keytype":"ed25519","keyval":{"public":"` + strings.Repeat("ab", 32) + `"},"scheme":"ed25519"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKey(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("ParseKey accepted invalid JSON: %q", data)
		}
		want, err := Canonicalize(data)
		if err != nil {
			t.Fatalf("ParseKey accepted a key Canonicalize refuses: %v", err)
		}
		// The keyid covers the key object as it stands, extra members and
		// all: canonical JSON of the input, hashed.
		if got := k.CanonicalJSON(); !bytes.Equal(got, want) {
			t.Fatalf("key's canonical JSON is not the input's:\n got %q\nwant %q", got, want)
		}
		sum := sha256.Sum256(want)
		if k.ID() != hex.EncodeToString(sum[:]) {
			t.Fatalf("keyid %s is not the SHA-256 of the canonical key", k.ID())
		}
		pub, err := k.MarshalJSON()
		if err != nil || !json.Valid(pub) {
			t.Fatalf("published key %q is not valid JSON (%v)", pub, err)
		}
		back, err := ParseKey(pub)
		if err != nil || back.ID() != k.ID() || back.Public() != k.Public() {
			t.Fatalf("key does not survive publishing: %v", err)
		}
		checkKeys(map[string]*Key{"": k})
	})
}

// readCorpus reads one seed file in the `go test fuzz v1` format holding a
// single []byte.
func readCorpus(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	body, ok := strings.CutPrefix(string(b), "go test fuzz v1\n[]byte(")
	body, ok2 := strings.CutSuffix(strings.TrimSpace(body), ")")
	if !ok || !ok2 {
		t.Fatalf("%s is not a go test fuzz v1 file of one []byte", path)
	}
	s, err := strconv.Unquote(body)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// TestFuzzSeedCorpora keeps the seed corpora meaningful: the well-formed
// seeds are accepted, so the fuzz targets' checks on parsed documents run
// on them under plain `go test`, and the malformed ones are refused.
func TestFuzzSeedCorpora(t *testing.T) {
	parsers := map[string]func([]byte) error{
		"FuzzParseRoot":        func(b []byte) error { _, err := Parse[*Root](b); return err },
		"FuzzParseTargets":     func(b []byte) error { _, err := Parse[*Targets](b); return err },
		"FuzzParseSnapshot":    func(b []byte) error { _, err := Parse[*Snapshot](b); return err },
		"FuzzParseTimestamp":   func(b []byte) error { _, err := Parse[*Timestamp](b); return err },
		"FuzzParseRevocations": func(b []byte) error { _, err := Parse[*Revocations](b); return err },
		"FuzzParseKey":         func(b []byte) error { _, err := ParseKey(b); return err },
		"FuzzCanonicalDifferential": func(b []byte) error {
			_, err := Canonicalize(b)
			return err
		},
	}
	good := map[string]bool{
		"valid": true, "pretty": true, "unknown-fields": true, "project": true, "project-custom": true, "succinct": true,
		"key-extras": true, "key-escaped-unicode": true,
		"root": true, "pretty-targets": true, "unsorted-nested": true, "escapes": true, "raw-unicode": true,
		"sort-by-bytes": true, "integers": true, "deep-64": true, "whitespace": true, "scalars": true,
	}
	for name, parse := range parsers {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
		if err != nil || len(files) < 5 {
			t.Errorf("%s: %d seed files (%v), want a corpus", name, len(files), err)
		}
		for _, f := range files {
			label := filepath.Base(f)
			wantOK := good[label] || (strings.HasPrefix(label, "key-") && !strings.Contains(label, "no-public") && !strings.Contains(label, "duplicate"))
			if err := parse(readCorpus(t, f)); (err == nil) != wantOK {
				t.Errorf("%s/%s: err = %v, want accepted = %v", name, label, err, wantOK)
			}
		}
	}
}

// TestLargeDocumentStreamsSameBytes complements the fuzz targets, whose
// inputs stay far below the 64 KiB at which WriteSigned starts flushing:
// on a document of about a MB, with long strings and unknown members, the
// streamed signed bytes, CanonicalSigned and Canonicalize of the raw
// value agree, before and after publishing.
func TestLargeDocumentStreamsSameBytes(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"signatures":[],"signed":{"x-blob":"` + strings.Repeat("é\\\"x", 20000) + `","_type":"targets","expires":"2030-01-02T03:04:05Z","spec_version":"1.0.31","targets":{`)
	for i := range 6000 {
		if i > 0 {
			b.WriteByte(',')
		}
		// Names out of canonical order, and custom members to merge.
		b.WriteString(`"p` + strconv.Itoa(6000-i) + `/f.tar.gz":{"length":` + strconv.Itoa(i) + `,"hashes":{"sha256":"` + strings.Repeat("ab", 32) + `"},"custom":{"z":null,"a":[true,-0]}}`)
	}
	b.WriteString(`},"version":7}}`)
	data := []byte(b.String())
	m, err := Parse[*Targets](data)
	if err != nil {
		t.Fatal(err)
	}
	checkParsed(t, data, m)
	if n := len(m.CanonicalSigned()); n < 512<<10 {
		t.Fatalf("document of %d canonical bytes does not exercise flushing", n)
	}
}

// FuzzTargetsInteropGoTUF signs, with roles, a targets role holding one
// target whose path and "custom" value the fuzzer chooses, and asks go-tuf
// to verify the published file: go-tuf re-encodes the signed part its own
// way (encoding/json, then cjson), so any string or value that roles
// writes differently breaks the signature.
//
// Excluded, each for a reason outside this comparison:
//   - paths that are not valid UTF-8: roles' writers refuse them
//     (TestInvalidUTF8InModelRefusedOnWrite), so there is nothing to compare;
//   - "custom": null, which go-tuf drops on reading (its Custom is a
//     *json.RawMessage), so that it verifies other bytes than were signed.
func FuzzTargetsInteropGoTUF(f *testing.F) {
	f.Add("sampleproject/sampleproject-1.0.tar.gz", []byte(`{"yanked":false}`))
	f.Add("p/<&>\u2028\u00e9\U0001F600", []byte(`{"b":[1,-0,9223372036854775807],"a":"\u0000\"\\"}`))
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	key, err := KeyFromPublic(priv.Public())
	if err != nil {
		f.Fatal(err)
	}
	gkey, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		f.Fatal(err)
	}
	delegator := metadata.Targets(interopExpires)
	delegator.Signed.Delegations = &metadata.Delegations{
		Keys:  map[string]*metadata.Key{key.ID(): gkey},
		Roles: []metadata.DelegatedRole{{Name: "proj", KeyIDs: []string{key.ID()}, Threshold: 1, Paths: []string{"*"}}},
	}
	f.Fuzz(func(t *testing.T, path string, custom []byte) {
		if !utf8.ValidString(path) || bytes.Equal(bytes.TrimSpace(custom), []byte("null")) {
			return
		}
		name, err := json.Marshal(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := `{"signatures":[],"signed":{"_type":"targets","expires":"2031-06-01T00:00:00Z","spec_version":"1.0.31","targets":{` +
			string(name) + `:{"custom":` + string(custom) + `,"hashes":{"sha256":"00"},"length":1}},"version":1}}`
		m, err := Parse[*Targets]([]byte(doc))
		if err != nil {
			return // custom is not a value roles accepts
		}
		msg := m.CanonicalSigned()
		sig, err := Sign(priv, key, msg)
		if err != nil {
			t.Fatal(err)
		}
		m.AddSignature(sig)
		pub, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		g, err := metadata.Targets().FromBytes(pub)
		if err != nil {
			t.Fatalf("go-tuf cannot read what roles published: %v\n%q", err, pub)
		}
		if err := delegator.VerifyDelegate("proj", g); err != nil {
			payload, _ := cjson.EncodeCanonical(g.Signed)
			t.Fatalf("go-tuf refuses roles' signature: %v\nroles signed %q\ngo-tuf checks %q", err, msg, payload)
		}
		if g.Signed.Targets[path] == nil {
			t.Fatalf("go-tuf does not find target %q", path)
		}
	})
}

// FuzzPathMatchDifferential compares DelegatedRole.Matches with go-tuf's
// IsDelegatedPath, which, as the TUF spec and python-tuf do, matches a
// pattern against a target path part by part between the "/"s.
// Patterns with a "/" inside a bracket class or after a "\" once matched
// differently (roles matched the whole path at once); they are in the
// seeds now.
func FuzzPathMatchDifferential(f *testing.F) {
	for _, c := range [][2]string{
		{"sampleproject/*", "sampleproject/sampleproject-1.0.tar.gz"},
		{"*/*", "a/b"},
		{"files/*/x.txt", "files/a/b/x.txt"},
		{"[a-c]?/[!x]*.whl", "bz/y.whl"},
		{"*", ""},
		{"a[", "a["},
		{"a[/]b", "a/b"},
		{`a\/b`, "a/b"},
		{"x/[/]", "x//"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, pattern, target string) {
		ours := (&DelegatedRole{Paths: []string{pattern}}).Matches(target)
		theirs, _ := (&metadata.DelegatedRole{Paths: []string{pattern}}).IsDelegatedPath(target)
		if ours != theirs {
			t.Fatalf("pattern %q, path %q: roles matches %v, go-tuf %v", pattern, target, ours, theirs)
		}
	})
}
