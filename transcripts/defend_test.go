package transcripts

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The tests in this file each reproduce a way the transcript once failed
// to defend itself (issue 11, point 7), and fail without its fix.

// hand is one hand-written line; chained fills in seq and prev unless set.
type hand struct {
	seq  int64
	time string
	typ  string
	data string
}

const hdrData = `{"format":1,"ceremony":"c","tool":"t"}`

// chained returns the lines, seq counting from 1 and each prev the hash of
// the line before, as a forger who recomputes the chain would write them.
func chained(lines ...hand) []byte {
	var out []byte
	var prev Digest
	for i, h := range lines {
		seq, tm := h.seq, h.time
		if seq == 0 {
			seq = int64(i + 1)
		}
		if tm == "" {
			tm = "2026-11-25T09:00:00.000000000Z"
		}
		l := fmt.Sprintf(`{"seq":%d,"time":"%s","type":"%s","prev":"%s","data":%s}`+"\n", seq, tm, h.typ, prev, h.data)
		out = append(out, l...)
		prev = sha256.Sum256([]byte(l))
	}
	return out
}

// checks lists each problem's line and check, for comparing in tests.
func checks(r *Report) []string {
	var out []string
	for _, p := range r.Problems {
		out = append(out, fmt.Sprintf("%d:%s", p.Line, p.Check))
	}
	return out
}

func wantChecks(t *testing.T, what string, r *Report, want ...string) {
	t.Helper()
	if got := checks(r); !slices.Equal(got, want) {
		t.Errorf("%s: problems %v, want %v\n%+v", what, got, want, r.Problems)
	}
}

// dirBytes maps every file under dir to its bytes.
func dirBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

// TestReadingNeverWrites: Verify, Events and Open change no file, whatever
// the transcript's tail; Open once cut a complete last event and recorded
// a transcript.torn event, silently.
func TestReadingNeverWrites(t *testing.T) {
	_, orig, _ := fixture(t)
	for _, cut := range []int{1, 20} {
		p, w := exampleTranscript(t, t.TempDir())
		w.Close()
		os.WriteFile(p, orig[:len(orig)-cut], 0o600)
		before := dirBytes(t, filepath.Dir(p))
		Verify(p, "")
		f, _ := os.Open(p)
		for range Events(f) {
		}
		f.Close()
		if _, err := Open(p); !errors.Is(err, ErrTorn) {
			t.Errorf("cut %d: Open: %v", cut, err)
		}
		after := dirBytes(t, filepath.Dir(p))
		if len(after) != len(before) {
			t.Errorf("cut %d: files before %d, after %d", cut, len(before), len(after))
		}
		for name, b := range before {
			if after[name] != b {
				t.Errorf("cut %d: reading changed %s", cut, name)
			}
		}
	}
}

// TestLockIsTheTranscriptItself: the lock was a flock on a separate
// ".lock" file, and deleting that file let a second writer in, which forked
// the chain. Two opens have two open file descriptions, as two processes
// would (flock is per open file description).
func TestLockIsTheTranscriptItself(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	os.Remove(p + ".lock")
	if w2, err := Open(p); !errors.Is(err, ErrInUse) {
		if err == nil {
			w2.Close()
		}
		t.Fatalf("second writer after the lock file was deleted: %v", err)
	}
	if w2, _, err := OpenRepair(p); !errors.Is(err, ErrInUse) {
		if err == nil {
			w2.Close()
		}
		t.Errorf("OpenRepair while open: %v", err)
	}
	if _, err := os.Stat(p + ".lock"); err == nil {
		t.Error("a lock file was created")
	}
}

// TestAppendRefusesChangedTail: a writer whose file was changed behind its
// back (by whatever escaped the lock) refuses to append, rather than fork
// the chain (seq 8 once followed seq 9).
func TestAppendRefusesChangedTail(t *testing.T) {
	behind := map[string]func(t *testing.T, p string, orig []byte){
		"appended": func(t *testing.T, p string, orig []byte) {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"seq":4}` + "\n")
			f.Close()
		},
		"last line rewritten": func(t *testing.T, p string, orig []byte) {
			b := bytes.Replace(orig, []byte("carol"), []byte("carl!"), 1)
			os.WriteFile(p, b, 0o600)
		},
		"cut": func(t *testing.T, p string, orig []byte) {
			os.Truncate(p, int64(bytes.LastIndexByte(orig[:len(orig)-1], '\n')+1))
		},
		"replaced": func(t *testing.T, p string, orig []byte) {
			tmp := p + ".new"
			os.WriteFile(tmp, orig, 0o600)
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, change := range behind {
		p, w := exampleTranscript(t, t.TempDir())
		orig, _ := os.ReadFile(p)
		change(t, p, orig)
		changed, _ := os.ReadFile(p)
		if _, err := w.Append("late", nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: Append: %v", name, err)
		}
		if b, _ := os.ReadFile(p); !bytes.Equal(b, changed) {
			t.Errorf("%s: Append wrote", name)
		}
		w.Close()
	}
	// A writer's own appends, and nothing else, move its idea of the end.
	_, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	for i := range 3 {
		if _, err := w.Append("tick", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if w.Head() != w.Last().Hash() {
		t.Error("Head is not the last line's hash")
	}
}

// TestHeaderMembersExact: encoding/json matched header members in any
// case, so {"format":2,"FORMAT":1} was read as format 1, and a second
// "CEREMONY" renamed the ceremony.
func TestHeaderMembersExact(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	for _, data := range []string{
		`{"format":2,"FORMAT":1,"ceremony":"c","tool":"t"}`,
		`{"format":1,"ceremony":"c","CEREMONY":"forged","tool":"t"}`,
		`{"Format":1,"ceremony":"c","tool":"t"}`,
		`{"format":1.0,"ceremony":"c","tool":"t"}`,
		`{"format":true,"ceremony":"c","tool":"t"}`,
		`{"format":1,"ceremony":"c","tool":null}`,
		`{"format":1,"ceremony":["c"],"tool":"t"}`,
	} {
		r, _ := verifyBytes(t, p, chained(hand{typ: HeaderType, data: data}), "")
		wantChecks(t, data, r, "1:header")
		if r.Ceremony != "" {
			t.Errorf("%s: read as ceremony %q", data, r.Ceremony)
		}
	}
	// Escapes are undone before names are compared.
	r, _ := verifyBytes(t, p, chained(hand{typ: HeaderType, data: `{"\u0066ormat":1,"ceremony":"c","tool":""}`}), "")
	wantChecks(t, "escaped name", r)
}

// TestDepth: the data object is depth 0, and arrays and objects at depth
// 64 may hold values; the limit was one too tight, and was not applied to
// the value of a malformed "artifact" member.
func TestDepth(t *testing.T) {
	nest := func(n int, inner string) string {
		return `{"k":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
	}
	for _, c := range []struct {
		data string
		want []*lineError
	}{
		{nest(64, "1"), nil},
		{nest(63, `{"a":1}`), nil},
		{nest(65, ""), []*lineError{{check: checkData}}},
		{nest(64, "{}"), []*lineError{{check: checkData}}},
		{`{"artifact":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`, []*lineError{{check: checkData}}},
		{`{"artifact":[1],"pin":1}`, []*lineError{{check: checkArtifact}, {check: checkSecret}}},
	} {
		_, errs := scanData([]byte(c.data))
		if len(errs) != len(c.want) {
			t.Errorf("%s: %v", clip(c.data), errs)
			continue
		}
		for i := range errs {
			if errs[i].check != c.want[i].check {
				t.Errorf("%s: %v", clip(c.data), errs)
			}
		}
	}
}

// TestYearZero: a year 0000 on line 1 was compared with Go's zero time (year
// 1) and reported as time going backwards; years run from 0001 to 9999.
func TestYearZero(t *testing.T) {
	p := filepath.Join(t.TempDir(), "y.jsonl")
	r, _ := verifyBytes(t, p, chained(hand{typ: HeaderType, data: hdrData, time: "0000-06-01T00:00:00.000000000Z"}), "")
	wantChecks(t, "year 0000", r, "1:line")
	r, _ = verifyBytes(t, p, chained(hand{typ: HeaderType, data: hdrData, time: "0001-01-01T00:00:00.000000000Z"}), "")
	wantChecks(t, "year 0001", r)
}

// TestOutOfOrderReportedOnce: a time was compared with the latest time
// seen, so one line dated in the future made every later line "go
// backwards"; seq, likewise, was compared with the line number. Each is
// compared with the line before, as it is.
func TestOutOfOrderReportedOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "o.jsonl")
	r, _ := verifyBytes(t, p, chained(
		hand{typ: HeaderType, data: hdrData},
		hand{typ: "a", data: `{}`, time: "9999-12-31T23:59:59.999999999Z"},
		hand{typ: "a", data: `{}`},
		hand{typ: "a", data: `{}`},
	), "")
	wantChecks(t, "a future time", r, "3:time")
	r, _ = verifyBytes(t, p, chained(
		hand{typ: HeaderType, data: hdrData},
		hand{typ: "a", data: `{}`, seq: 3},
		hand{typ: "a", data: `{}`, seq: 4},
		hand{typ: "a", data: `{}`, seq: 5},
	), "")
	wantChecks(t, "a line removed and the chain recomputed", r, "2:seq")
	// A line that cannot be read counts as having the seq expected of it,
	// and no time.
	r, _ = verifyBytes(t, p, chained(
		hand{typ: HeaderType, data: hdrData},
		hand{typ: "A", data: `{}`, time: "9999-12-31T23:59:59.999999999Z"},
		hand{typ: "a", data: `{}`},
	), "")
	wantChecks(t, "an unreadable line", r, "2:line")
}

// TestReservedTypes: a "transcript." type the format does not define was
// taken for an engine event.
func TestReservedTypes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	r, _ := verifyBytes(t, p, chained(hand{typ: HeaderType, data: hdrData}, hand{typ: "transcript.note", data: `{}`}), "")
	wantChecks(t, "transcript.note", r, "2:reserved")
}

// TestTornRecordChecked: a transcript.torn event's own fields were never
// checked.
func TestTornRecordChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.jsonl")
	a, err := putArtifact(p, strings.NewReader(`{"seq":2,"ti`))
	if err != nil {
		t.Fatal(err)
	}
	nl, err := putArtifact(p, strings.NewReader("{\"seq\":2}\n{"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := hand{typ: HeaderType, data: hdrData}
	off := len(chained(hdr))
	rec := func(f string, args ...any) hand {
		return hand{typ: tornType, data: fmt.Sprintf(f, args...)}
	}
	good := rec(`{"offset":%d,"length":12,"bytes":%s}`, off, mustJSON(a))
	r, _ := verifyBytes(t, p, chained(hdr, good), "")
	wantChecks(t, "a valid record", r)
	r, _ = verifyBytes(t, p, chained(hdr, rec(`{"length":12,"bytes":%s,"offset":%d}`, mustJSON(a), off)), "")
	wantChecks(t, "members in another order", r)
	for what, h := range map[string]hand{
		"offset elsewhere":  rec(`{"offset":%d,"length":12,"bytes":%s}`, off+1, mustJSON(a)),
		"offset a string":   rec(`{"offset":"%d","length":12,"bytes":%s}`, off, mustJSON(a)),
		"offset negative":   rec(`{"offset":-%d,"length":12,"bytes":%s}`, off, mustJSON(a)),
		"offset exponent":   rec(`{"offset":%de0,"length":12,"bytes":%s}`, off, mustJSON(a)),
		"length 0":          rec(`{"offset":%d,"length":0,"bytes":%s}`, off, mustJSON(a)),
		"length a line":     rec(`{"offset":%d,"length":%d,"bytes":%s}`, off, MaxLine, mustJSON(a)),
		"extra member":      rec(`{"offset":%d,"length":12,"bytes":%s,"note":"x"}`, off, mustJSON(a)),
		"upper-case member": rec(`{"OFFSET":%d,"length":12,"bytes":%s}`, off, mustJSON(a)),
		"bytes not a ref":   rec(`{"offset":%d,"length":12,"bytes":"x"}`, off),
		"bytes extra":       rec(`{"offset":%d,"length":12,"bytes":{"artifact":"%s","n":1}}`, off, a.Digest),
		"length differs":    rec(`{"offset":%d,"length":11,"bytes":%s}`, off, mustJSON(a)),
		"newline in bytes":  rec(`{"offset":%d,"length":11,"bytes":%s}`, off, mustJSON(nl)),
	} {
		r, _ := verifyBytes(t, p, chained(hdr, h), "")
		wantChecks(t, what, r, "2:repair")
	}
}

func mustJSON(a Artifact) string { return `{"artifact":"` + a.Digest + `"}` }

// TestSecretScreen: the screen splits and folds names in ASCII only, so
// that every verifier agrees, and a PIN inside a key URI is a secret too.
func TestSecretScreen(t *testing.T) {
	for data, secret := range map[string]bool{
		`{"uri":"pkcs11:token=a?pin-value=1234"}`:      true, // once accepted
		`{"uri":"piv:slot=9c?PIN-Value=1234"}`:         true,
		`{"uri":"pkcs11:token=a?pin-value\u003d1234"}`: true, // unescaped first
		`{"pin_value":"1234"}`:                         true,
		`{"uri":"pkcs11:token=a?pin-source=/p"}`:       false,
		`{"management\tkey":1}`:                        true,
		"{\"management\\u000bkey\":1}":                 true,
		`{"management\u00a0key":1}`:                    false, // not ASCII white space
		`{"ｐｉｎ":1}`:                                    false, // fullwidth letters are not ASCII
		`{"newPIN":1}`:                                 true,
		`{"newÅPIN":1}`:                                false, // no ASCII lowercase-to-uppercase step
		`{"k":"-----BEGIN PRIVATE KEY-----"}`:          true,
		`{"k":"-----begin private key-----"}`:          false, // PEM headers are upper case
		`{"k":"a=b&pin-value=1"}`:                      true,  // after another "="
		`{"k":"=pin-value"}`:                           false,
		`{"k":"x","oldPin":"","y":1}`:                  true,
	} {
		_, errs := scanData([]byte(data))
		if got := len(errs) == 1 && errs[0].check == checkSecret; got != secret || len(errs) > 1 {
			t.Errorf("%s: %v, want secret %v", data, errs, secret)
		}
	}
}

// TestDuplicateMembers: an object's member names are compared one by one
// while it has a few and through a map once it has more; a duplicate is
// caught either way.
func TestDuplicateMembers(t *testing.T) {
	obj := func(names ...string) string {
		var b strings.Builder
		b.WriteString("{")
		for i, n := range names {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%d", n, i)
		}
		return b.String() + "}"
	}
	names := strings.Fields("a b c d e f g h i j k l")
	for _, tc := range []struct {
		data string
		dup  bool
	}{
		{obj(names...), false},
		{obj("a", "b", "a"), true},
		{obj(append(slices.Clone(names[:8]), "h")...), true}, // the last of the few
		{obj(append(slices.Clone(names[:8]), "a")...), true}, // the first, as the map is made
		{obj(append(slices.Clone(names), "k")...), true},     // from the map
		{`{"o":` + obj(names...) + `,"p":` + obj(names...) + `}`, false},
	} {
		_, errs := scanData([]byte(tc.data))
		got := len(errs) == 1 && strings.Contains(errs[0].msg, "duplicate member")
		if got != tc.dup || (!tc.dup && len(errs) > 0) {
			t.Errorf("%s: %v, want duplicate %v", tc.data, errs, tc.dup)
		}
	}
}

// TestArtifactsScreened: verify checked only events for secrets, so a plan
// artifact holding a PIN in a key URI verified OK; artifacts no event
// names were not looked at; a link in the store was followed.
func TestArtifactsScreened(t *testing.T) {
	p, orig, _ := fixture(t)
	store := filepath.Join(ArtifactDir(p), "sha256")
	put := func(b string) string {
		name := fmt.Sprintf("%x", sha256.Sum256([]byte(b)))
		os.WriteFile(filepath.Join(store, name), []byte(b), 0o644)
		return artifactPrefix + name
	}
	// Named by a new last line, as a plan artifact would be.
	named := func(b string) *Report {
		t.Helper()
		a := put(b)
		lines := bytes.SplitAfter(orig, []byte("\n"))
		l := fmt.Sprintf(`{"seq":4,"time":"2026-11-25T09:00:00.003000000Z","type":"ceremony.opened","prev":"%s","data":{"plan":{"artifact":"%s"}}}`+"\n", Digest(sha256.Sum256(lines[2])), a)
		r, _ := verifyBytes(t, p, append(bytes.Clone(orig), l...), "")
		os.Remove(filepath.Join(store, strings.TrimPrefix(a, artifactPrefix)))
		return r
	}
	for _, b := range []string{
		`{"participants":[{"name":"alice","key":"pkcs11:token=a;object=k?pin-value=123456"}]}`,
		"{\n  \"device\": {\n    \"Pin\": \"123456\"\n  }\n}\n",
		"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n",
		"not JSON, pin-value=1234",
	} {
		r := named(b)
		wantChecks(t, clip(b), r, "4:secret")
		if len(r.Problems) == 1 && r.Problems[0].Artifact == "" {
			t.Errorf("%s: the problem does not name the artifact", clip(b))
		}
	}
	for _, b := range []string{
		`{"signed":{"keys":{"k":{"keyval":{"public":"abc"}}},"pin_policy":"once"}}`,
		`{"pin":` + strings.Repeat("[", 70), // not JSON: only the marker scan applies
		"\x00\x01binary",
	} {
		wantChecks(t, clip(b), named(b))
	}

	// An artifact no line names is screened and hashed all the same.
	a := put(`{"pin":"1234"}`)
	r, _ := verifyBytes(t, p, orig, "")
	wantChecks(t, "unnamed secret", r, "0:secret")
	if r.Unnamed != 1 || len(r.Problems) != 1 || r.Problems[0].Artifact != a {
		t.Errorf("unnamed secret: %+v", r)
	}
	os.Remove(filepath.Join(store, strings.TrimPrefix(a, artifactPrefix)))
	os.WriteFile(filepath.Join(store, zeros), []byte("x"), 0o644)
	r, _ = verifyBytes(t, p, orig, "")
	wantChecks(t, "unnamed altered", r, "0:artifact")
	os.Remove(filepath.Join(store, zeros))

	// Files whose names are not artifact names are not artifacts.
	os.WriteFile(filepath.Join(store, ".tmp-123"), []byte(`{"pin":1}`), 0o644)
	os.WriteFile(filepath.Join(store, strings.ToUpper(zeros[:63])+"A"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(store, "sub"), 0o755)
	os.WriteFile(filepath.Join(ArtifactDir(p), "notes.txt"), []byte("pin-value=1"), 0o644)
	r, _ = verifyBytes(t, p, orig, "")
	wantChecks(t, "stray files", r)

	// A link in the store is not followed, even to the right bytes.
	ents, _ := os.ReadDir(store)
	for _, e := range ents {
		if !validArtifactName(artifactPrefix + e.Name()) {
			continue
		}
		ap := filepath.Join(store, e.Name())
		b, _ := os.ReadFile(ap)
		elsewhere := filepath.Join(t.TempDir(), "copy")
		os.WriteFile(elsewhere, b, 0o644)
		os.Remove(ap)
		if err := os.Symlink(elsewhere, ap); err != nil {
			t.Fatal(err)
		}
		r, _ = verifyBytes(t, p, orig, "")
		wantChecks(t, "symbolic link", r, "2:artifact")
		if len(r.Problems) == 1 && !strings.Contains(r.Problems[0].Detail, "symbolic link") {
			t.Errorf("symbolic link: %s", r.Problems[0].Detail)
		}
	}
}

// TestPutArtifactScreened: the writer refuses to store what the verifier
// would report.
func TestPutArtifactScreened(t *testing.T) {
	p, w := exampleTranscript(t, t.TempDir())
	defer w.Close()
	before := dirBytes(t, filepath.Dir(p))
	for _, b := range []string{`{"key":"pkcs11:object=k?pin-value=1"}`, `{"so_pin":"1"}`, "-----BEGIN RSA PRIVATE KEY-----"} {
		if _, err := w.PutArtifact(strings.NewReader(b)); err == nil || !strings.Contains(err.Error(), "secret") {
			t.Errorf("PutArtifact(%q): %v", b, err)
		}
	}
	if after := dirBytes(t, filepath.Dir(p)); len(after) != len(before) {
		t.Error("a refused artifact left a file")
	}
}
