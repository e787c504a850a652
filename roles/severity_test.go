package roles

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// TestEveryCheckHasASeverity: each Check… constant of this package is in
// the one severity table, with a severity for every scope.
func TestEveryCheckHasASeverity(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "policy.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || len(vs.Values) != 1 || len(vs.Names[0].Name) < 6 || vs.Names[0].Name[:5] != "Check" {
			return true
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			return true
		}
		name, _ := strconv.Unquote(lit.Value)
		n++
		sev, ok := severities[name]
		if !ok {
			t.Errorf("%s (%q) is not in the severity table", vs.Names[0].Name, name)
		}
		for scope, s := range sev {
			if s != Error && s != Warning {
				t.Errorf("%s in scope %d has severity %q", name, scope, s)
			}
		}
		return true
	})
	if n != len(severities) || n < 10 {
		t.Errorf("%d check constants, %d rows in the table", n, len(severities))
	}
	if SeverityOf("no.such-check", ScopeVerify) != Error {
		t.Error("an unknown check is not an error")
	}
	if VerifyOptionsFor(ScopeCeremony).AnyPSSSalt || !VerifyOptionsFor(ScopeVerify).AnyPSSSalt {
		t.Error("a ceremony counts a signature some clients refuse, or verify does not")
	}
}

// TestPolicyScope: a root with threshold 1 is refused in a ceremony and a
// warning when a repository is verified; the findings say which.
func TestPolicyScope(t *testing.T) {
	k := newIKey(t, "ed25519")
	root := NewRoot(interopExpires)
	root.Keys[k.key.ID()] = k.key
	for _, r := range []string{TypeRoot, TypeTargets, TypeSnapshot, TypeTimestamp} {
		root.Roles[r] = &RoleKeys{KeyIDs: []string{k.key.ID()}, Threshold: 1}
	}
	now := interopExpires.AddDate(0, -6, 0)
	for _, c := range []struct {
		scope Scope
		want  Severity
	}{{ScopeCeremony, Error}, {ScopeVerify, Warning}} {
		fs := CheckRoot(nil, root, Policy{Now: now, Scope: c.scope})
		f := failed(fs, CheckRootThresholdAboveOne)
		if f == nil || f.Severity != c.want {
			t.Errorf("scope %d: %+v, want a failed %s of severity %s", c.scope, f, CheckRootThresholdAboveOne, c.want)
		}
		if g := failed(fs, CheckOfflineNotSharedOnline); g == nil || g.Severity != c.want {
			t.Errorf("scope %d: %+v", c.scope, g)
		}
		if (fs.Err() == nil) != (c.want == Warning) {
			t.Errorf("scope %d: Err() = %v", c.scope, fs.Err())
		}
	}
}
