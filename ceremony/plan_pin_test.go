package ceremony

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// TestPlanRefusesPINInKeyURI: a PIN in the online key's URI would be
// recorded in the resolved plan the transcript keeps, so the plan is
// refused when parsed, and the refusal does not repeat the PIN.
func TestPlanRefusesPINInKeyURI(t *testing.T) {
	b, err := os.ReadFile("../docs/plans/bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	uri := []byte(`key_uri: "pkcs11:token=online;object=online"`)
	if !bytes.Contains(b, uri) {
		t.Fatalf("docs/plans/bootstrap.yaml no longer has %s", uri)
	}
	b = bytes.Replace(b, uri, []byte(`key_uri: "pkcs11:token=online;object=online?pin-value=918273"`), 1)
	_, err = parsePlan(b)
	if !errors.Is(err, ErrPlan) || !strings.Contains(err.Error(), "online.key_uri") || strings.Contains(err.Error(), "918273") {
		t.Errorf("plan with pin-value: got %v, want ErrPlan naming online.key_uri without the PIN", err)
	}
}
