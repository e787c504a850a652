package main

import (
	"context"
	"errors"

	"github.com/ceremony-tuf/ceremony/hsm"
)

// signRequestFile is `ceremony sign REQUEST --key URI --out RESPONSE`: an
// air-gapped signer's side, with no workspace.
func signRequestFile(ctx context.Context, e *env, request, keyURI, out string, auth hsm.Auth) error {
	return errors.New("signing a request file is not built yet")
}
