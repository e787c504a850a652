package repoverify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ceremony-tuf/ceremony/roles"
)

// TestParallelAsSerial: a repository of many projects, a few of them
// broken in different ways, gives the same report, the same first
// failure and the same progress whether its roles are checked one at a
// time or on many goroutines.
func TestParallelAsSerial(t *testing.T) {
	f := manyProjects(t)
	dir, trusted := f.publish()

	run := func(n int) (string, string, []int) {
		t.Helper()
		defer func(w func() int) { workers = w }(workers)
		workers = func() int { return n }
		var progress []int
		rep, err := VerifyWith(dir, trusted, Options{At: ref, Scope: roles.ScopeVerify, Progress: func(done, total int) {
			progress = append(progress, done, total)
		}})
		if err == nil {
			t.Fatal("verified a repository with broken projects")
		}
		b, _ := json.Marshal(rep)
		return string(b), err.Error(), progress
	}
	serial, serr, sprog := run(1)
	for _, n := range []int{2, 3, 8} {
		par, perr, pprog := run(n)
		if par != serial || perr != serr || !slices.Equal(pprog, sprog) {
			t.Errorf("%d workers: the report, error or progress differs from one worker's:\n%s\n%s", n, perr, serr)
		}
	}
	for _, want := range []string{"delegation.p07.threshold", "delegation.p13.paths", "delegation.p41.threshold", "snapshot.meta.p29.json.listed"} {
		if !strings.Contains(serial, `"check":"`+want+`"`) {
			t.Errorf("the report has no %s", want)
		}
	}
	// Without the passed checks, the same failures, the same count.
	var full Report
	if err := json.Unmarshal([]byte(serial), &full); err != nil {
		t.Fatal(err)
	}
	brief, err := VerifyWith(dir, trusted, Options{At: ref, Scope: roles.ScopeVerify, FailedOnly: true})
	failed := slices.DeleteFunc(slices.Clone(full.Checks), func(c Check) bool { return c.Passed })
	if err == nil || err.Error() != serr || brief.Passed != full.Passed || full.Passed != len(full.Checks)-len(failed) ||
		!slices.EqualFunc(brief.Checks, failed, func(a, b Check) bool { return a == b }) {
		t.Errorf("FailedOnly: %d checks, %d passed (%v); in full %d checks, %d passed", len(brief.Checks), brief.Passed, err, len(full.Checks), full.Passed)
	}
	// Under FailedOnly, the top-level roles, what targets delegates to,
	// the revocation list, and a count of the projects below.
	top := func(rs []Role) (names []string) {
		for _, r := range rs {
			names = append(names, r.Name)
		}
		return names
	}
	if got, want := top(brief.Roles), []string{roles.TypeRoot, roles.TypeTimestamp, roles.TypeSnapshot, roles.TypeTargets, roleClaimed, roleRecentlyClaimed, "unclaimed", roles.TypeRevocations}; !slices.Equal(got, want) ||
		brief.Unlisted != len(full.Roles)-len(want) || full.Unlisted != 0 {
		t.Errorf("FailedOnly lists roles %v and counts %d; want %v and %d", got, brief.Unlisted, want, len(full.Roles)-len(want))
	}
	// Depth first, as a client searches: claimed's projects come before
	// the role listed after claimed.
	all := top(full.Roles)
	if i, j := slices.Index(all, "p59"), slices.Index(all, roleRecentlyClaimed); i < 0 || j < 0 || i > j ||
		slices.Index(all, roleClaimed) != slices.Index(all, roles.TypeTargets)+1 {
		t.Errorf("roles not walked depth first: %v", all)
	}
	if !strings.Contains(serr, "p07") {
		t.Errorf("the first failure is not p07's: %s", serr)
	}
	// Progress counts up to a last call that is complete.
	for i := 2; i < len(sprog); i += 2 {
		if sprog[i] < sprog[i-2] || sprog[i] > sprog[i+1] {
			t.Fatalf("progress goes back or past its total: %v", sprog)
		}
	}
	if l := len(sprog); l < 4 || sprog[l-2] != sprog[l-1] || sprog[l-1] < 70 {
		t.Errorf("progress ends at %v, want done == total ≥ 70", sprog[max(0, l-2):])
	}
}

// manyProjects is the fixture with 60 projects p00…p59 delegated from
// claimed, four of them broken: p07 and p41 signed by a key claimed does
// not name, p13 listing a target outside its paths, p29 not published.
func manyProjects(t *testing.T) *fixture {
	f := newFixture(t)
	cl := f.targets[roleClaimed]
	for i := range 60 {
		name := fmt.Sprintf("p%02d", i)
		cl.Delegations.Roles = append(cl.Delegations.Roles, &roles.DelegatedRole{
			Name: name, KeyIDs: f.ids("m-alpha"), Threshold: 1, Terminating: true, Paths: []string{name + "/*"}})
		pt := roles.NewTargets(ref.AddDate(0, 6, 0))
		path := name + "/" + name + "-1.0.tar.gz"
		if i == 13 {
			path = "elsewhere/x-1.0.tar.gz"
		}
		pt.Targets[path] = targetFile(path)
		signer := "m-alpha"
		if i == 7 || i == 41 {
			signer = "m-stranger"
		}
		f.targets[name] = pt
		f.order = append(f.order, name)
		f.signers[name] = []string{signer}
	}
	f.skip["p29"] = true
	return f
}

// TestStreamAsReport: Options.OnRole and OnCheck are handed the roles and
// checks of a walk with failures and a warning in the order the report
// lists them, on one goroutine or many, and the report lists none of
// them; the rest of the report, the error and, under FailedOnly, the
// checks handed on are the same as without them.
func TestStreamAsReport(t *testing.T) {
	f := manyProjects(t)
	f.rsaKey("rsa-p20", 20) // a salt go-tuf refuses: a warning
	f.targets[roleClaimed].Delegations.Keys[f.id("rsa-p20")] = f.keys["rsa-p20"].key
	f.targets[roleClaimed].Delegations.Role("p20").KeyIDs = f.ids("rsa-p20")
	f.signers["p20"] = []string{"rsa-p20"}
	dir, trusted := f.publish()

	for _, failedOnly := range []bool{false, true} {
		opts := Options{At: ref, Scope: roles.ScopeVerify, FailedOnly: failedOnly}
		want, werr := VerifyWith(dir, trusted, opts)
		if werr == nil || len(want.Failures) == 0 || len(want.Warnings) == 0 {
			t.Fatalf("the fixture should fail and warn: %v, %d warnings", werr, len(want.Warnings))
		}
		wantJSON, _ := json.Marshal(want)
		for _, n := range []int{1, 2, 8} {
			func() {
				defer func(w func() int) { workers = w }(workers)
				workers = func() int { return n }
				var rs []Role
				var cs []Check
				opts := opts
				opts.OnRole = func(r Role) { rs = append(rs, r) }
				opts.OnCheck = func(c Check) { cs = append(cs, c) }
				got, err := VerifyWith(dir, trusted, opts)
				if len(got.Roles) != 0 || len(got.Checks) != 0 {
					t.Errorf("FailedOnly %v, %d workers: the report lists %d roles and %d checks it handed on", failedOnly, n, len(got.Roles), len(got.Checks))
				}
				got.Roles, got.Checks = rs, cs
				if gotJSON, _ := json.Marshal(got); string(gotJSON) != string(wantJSON) || err == nil || err.Error() != werr.Error() {
					t.Errorf("FailedOnly %v, %d workers: what was handed on differs from the report (%d roles, %d checks; want %d, %d): %v",
						failedOnly, n, len(rs), len(cs), len(want.Roles), len(want.Checks), err)
				}
			}()
		}
	}
}

// TestDepthFirst: depthFirst adopts in the order of a search one item at
// a time, each item's subtree before its next sibling, on any number of
// workers; and while it adopts a root's subtree, it has checked only a
// few roots beyond it, so that a walk holds a few delegating roles (bins)
// at once, not a level of them.
func TestDepthFirst(t *testing.T) {
	var roots []string
	for i := range 200 {
		roots = append(roots, fmt.Sprintf("r%03d", i))
	}
	children := func(it string) (out []string) {
		switch strings.Count(it, "/") {
		case 0:
			for i := range 30 {
				out = append(out, fmt.Sprintf("%s/c%02d", it, i))
			}
		case 1:
			if strings.HasSuffix(it, "0") {
				out = []string{it + "/g0", it + "/g1"}
			}
		}
		return out
	}
	var want []string
	var search func([]string)
	search = func(items []string) {
		for _, it := range items {
			want = append(want, it)
			search(children(it))
		}
	}
	search(roots)
	for _, n := range []int{1, 2, 8} {
		var rootsChecked atomic.Int64
		var got []string
		ahead := int64(0)
		depthFirst(roots, n, func(it string) string {
			if !strings.Contains(it, "/") {
				rootsChecked.Add(1)
			}
			return it
		}, func(it string) []string {
			got = append(got, it)
			var k int64
			fmt.Sscanf(it, "r%03d", &k)
			ahead = max(ahead, rootsChecked.Load()-k-1)
			return children(it)
		})
		if !slices.Equal(got, want) {
			t.Errorf("%d workers: adopted %d items not in depth-first order", n, len(got))
		}
		if ahead > int64(4*n) {
			t.Errorf("%d workers: %d roots checked beyond the one whose subtree is adopted, want at most %d", n, ahead, 4*n)
		}
	}
}
