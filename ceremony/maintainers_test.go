package ceremony

import (
	"errors"
	"testing"
	"time"

	"github.com/ceremony-tuf/ceremony/roles"
)

// TestProjectSignedByTwoMaintainersApart: a project delegated to two
// maintainers with threshold 2 is signed through request and response
// files, each maintainer on their own, and verifies under claimed.
func TestProjectSignedByTwoMaintainersApart(t *testing.T) {
	ps := newPeople(t, t.TempDir(), "m1", "m2", "stranger")
	cl := roles.NewTargets(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 3, 0))
	k1, _ := roles.KeyFromPublic(ps["m1"].Public())
	k2, _ := roles.KeyFromPublic(ps["m2"].Public())
	cl.Delegations = &roles.Delegations{Keys: map[string]*roles.Key{k1.ID(): k1, k2.ID(): k2},
		Roles: []*roles.DelegatedRole{{Name: "sampleproject", KeyIDs: []string{k1.ID(), k2.ID()}, Threshold: 2, Terminating: true, Paths: []string{"sampleproject/*"}}}}
	claimed, _ := roles.New(cl).MarshalJSON()

	proj := roles.NewTargets(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0))
	proj.Targets["sampleproject/sp-1.0.tar.gz"] = &roles.TargetFile{Length: 3, Hashes: map[string]string{"sha256": digestOf([]byte("abc"))}}
	m := roles.New(proj)
	req, err := ProjectRequest(m, "sampleproject", claimed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SignRequest(req, ps["stranger"], nil); err == nil {
		t.Error("a stranger's key signed the request")
	}
	for _, n := range []string{"m1", "m2"} {
		resp, err := SignRequest(req, ps[n], nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := resp.Marshal()
		back, err := ParseResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := AddProjectResponse(m, "sampleproject", claimed, back); err != nil {
			t.Fatal(err)
		}
		if n == "m1" {
			if err := AddProjectResponse(m, "sampleproject", claimed, back); !errors.Is(err, ErrDuplicate) {
				t.Errorf("the same response twice: %v", err)
			}
		}
	}
	del, _ := cl.Delegations.Delegation("sampleproject")
	if rep, err := roles.Verify(m, del); err != nil || rep.Count() != 2 {
		t.Errorf("after both responses: %v", err)
	}
}
